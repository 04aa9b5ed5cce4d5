/**
 * What a Redfish BMC keeps beside the machine: BIOS attributes (current and pending, DSP0266 §9.9
 * "settings resource"), the virtual media slots and the system's identity. Power and boot override
 * are never kept here — they are read from the `Machine` on every request, so IPMI and Redfish act on
 * one machine state.
 */
import { createHash } from 'node:crypto';
import { createLogger } from '../../../common/src/index.ts';
import type { Machine, MachineEvent } from '../../../vm-fleet/src/index.ts';
import { type ChassisSensor, defaultSensors } from './power.ts';

const log = createLogger('bmc:redfish:system');

export type BiosValue = string | number | boolean;

/** Resource.IndicatorLED: the chassis identify light, shared by the System and its Chassis. */
export const INDICATOR_LED = ['Lit', 'Blinking', 'Off'] as const;
export type IndicatorLed = (typeof INDICATOR_LED)[number];

/** Virtual media devices per manager, as sushy-tools offers them (`Cd` and `Floppy`). */
export const MEDIA_SLOTS = {
  Cd: { name: 'Virtual CD', mediaTypes: ['CD', 'DVD'] },
  Floppy: { name: 'Virtual Removable Media', mediaTypes: ['Floppy', 'USBStick'] },
} as const;
export type MediaSlot = keyof typeof MEDIA_SLOTS;

export interface MediaState {
  readonly image: string | null;
  readonly imageName: string | null;
  readonly inserted: boolean;
  readonly writeProtected: boolean;
}

export const EMPTY_MEDIA: MediaState = {
  image: null,
  imageName: null,
  inserted: false,
  writeProtected: true,
};

/** What the lab watches: media changes, and a boot from the virtual CD (the lab then boots that ISO). */
export type RedfishSystemEvent =
  | { readonly type: 'media'; readonly slot: MediaSlot; readonly media: MediaState }
  | { readonly type: 'media-boot'; readonly slot: MediaSlot; readonly image: string }
  | { readonly type: 'bios-applied'; readonly attributes: Readonly<Record<string, BiosValue>> }
  /** Anything in `snapshot()` changed: the lab persists it so a restart loses nothing. */
  | { readonly type: 'state' };

/**
 * UEFI Secure Boot as the SecureBoot resource (SecureBoot.v1_1) shows it: whether it is enabled,
 * the key state (`DeployedMode` with the platform key, `SetupMode` without), and whether the current
 * boot ran with it (fixed at POST: enabled, booted in UEFI mode, keys deployed).
 */
export interface SecureBootState {
  readonly enabled: boolean;
  readonly mode: 'DeployedMode' | 'SetupMode';
  readonly currentBoot: 'Enabled' | 'Disabled';
}

export const SECURE_BOOT_RESET_KEYS = ['ResetAllKeysToDefault', 'DeleteAllKeys', 'DeletePK'] as const;
export type SecureBootResetKeys = (typeof SECURE_BOOT_RESET_KEYS)[number];

/** What a Redfish BMC keeps beside the machine, as plain JSON for the lab's state store. */
export interface RedfishSystemSnapshot {
  readonly bios: Readonly<Record<string, BiosValue>>;
  readonly pendingBios: Readonly<Record<string, BiosValue>>;
  readonly biosAppliedAt?: string;
  readonly media: Readonly<Partial<Record<MediaSlot, MediaState>>>;
  readonly indicatorLed: IndicatorLed;
  readonly secureBoot?: SecureBootState;
}

export interface RedfishSystemOptions {
  /** The path segment in `/redfish/v1/Systems/<id>` (sushy-tools: the libvirt domain name or UUID). */
  readonly id: string;
  readonly machine: Machine;
  readonly uuid?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serialNumber?: string;
  /** Extra or overriding BIOS attributes; the registry is the union of the defaults and these. */
  readonly biosAttributes?: Readonly<Record<string, BiosValue>>;
  /** State saved from an earlier run (`snapshot()`). */
  readonly restore?: RedfishSystemSnapshot;
  /** Chassis sensor readings, e.g. the IPMI BMC's own (`sensorsFromBmc`); default: `defaultSensors`. */
  readonly sensors?: () => readonly ChassisSensor[];
}

/** A stable RFC 4122 v5-style UUID from the system's name (the IPMI side derives its GUID the same way). */
export function uuidFromName(name: string): string {
  const g = Buffer.from(createHash('sha1').update(`bmlab:system:${name}`).digest().subarray(0, 16));
  g[6] = ((g[6] as number) & 0x0f) | 0x50;
  g[8] = ((g[8] as number) & 0x3f) | 0x80;
  const h = g.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** BIOS attributes as sushy-tools' fake and libvirt drivers start with, sized from the machine. */
export function defaultBiosAttributes(machine: Machine): Record<string, BiosValue> {
  const mode = machine.bootOverride().mode;
  return {
    BootMode: mode === 'uefi' ? 'Uefi' : 'Bios',
    EmbeddedSata: 'Raid',
    L2Cache: '10x256 KB',
    NicBoot1: 'NetworkBoot',
    NumCores: String(machine.spec.cpus),
    ProcTurboMode: 'Enabled',
    QuietBoot: true,
    SecureBootStatus: 'Disabled',
    SerialNumber: `BMLAB-${machine.spec.name}`,
    SysPassword: '',
  };
}

/**
 * What a client sees of a sick BMC, set at run time by fault scenarios: slow answers, some requests
 * answered 503 (`ServiceTemporarilyUnavailable` with `Retry-After`), or every request refused while
 * the BMC "resets". They apply to requests about this system (its System, Manager and Chassis).
 */
export interface RedfishFaults {
  latencyMs: number;
  /** Probability (0-1) that a request is answered 503. */
  errorRate: number;
  /** Every request is answered 503. */
  unavailable: boolean;
}

export const NO_REDFISH_FAULTS: Readonly<RedfishFaults> = { latencyMs: 0, errorRate: 0, unavailable: false };

type Listener = (e: RedfishSystemEvent) => void;

export class RedfishSystem {
  readonly id: string;
  readonly machine: Machine;
  readonly uuid: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serialNumber: string;
  /** What the chassis sensors read now. */
  readonly sensors: () => readonly ChassisSensor[];
  readonly #biosDefaults: Readonly<Record<string, BiosValue>>;
  #bios: Record<string, BiosValue>;
  #pending: Record<string, BiosValue> = {};
  #biosAppliedAt: string | undefined;
  readonly #media = new Map<MediaSlot, MediaState>();
  #led: IndicatorLed = 'Off';
  #secureBoot: SecureBootState = { enabled: false, mode: 'DeployedMode', currentBoot: 'Disabled' };
  readonly faults: RedfishFaults = { ...NO_REDFISH_FAULTS };
  readonly #listeners = new Set<Listener>();
  readonly #unsubscribe: () => void;

  constructor(o: RedfishSystemOptions) {
    this.id = o.id;
    this.machine = o.machine;
    this.uuid = (o.uuid ?? uuidFromName(o.machine.spec.name)).toLowerCase();
    this.manufacturer = o.manufacturer ?? 'bmlab';
    this.model = o.model ?? 'bmlab virtual machine';
    this.serialNumber = o.serialNumber ?? `BMLAB-${o.machine.spec.name}`;
    this.sensors = o.sensors ?? (() => defaultSensors(o.machine));
    this.#biosDefaults = { ...defaultBiosAttributes(o.machine), ...o.biosAttributes };
    this.#bios = { ...this.#biosDefaults };
    for (const slot of Object.keys(MEDIA_SLOTS) as MediaSlot[]) {
      this.#media.set(slot, o.restore?.media[slot] ?? EMPTY_MEDIA);
    }
    if (o.restore !== undefined) {
      // Attributes the registry no longer has are dropped; new defaults keep their value.
      const known = (a: Readonly<Record<string, BiosValue>>) =>
        Object.fromEntries(Object.entries(a).filter(([k]) => k in this.#biosDefaults));
      this.#bios = { ...this.#biosDefaults, ...known(o.restore.bios) };
      this.#pending = known(o.restore.pendingBios);
      this.#biosAppliedAt = o.restore.biosAppliedAt;
      this.#led = o.restore.indicatorLed;
      if (o.restore.secureBoot !== undefined) this.#secureBoot = o.restore.secureBoot;
    }
    this.#unsubscribe = o.machine.subscribe((e) => this.#onMachine(e));
  }

  /** Stops following the machine (the system is being removed from its service). */
  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): RedfishSystemSnapshot {
    return {
      bios: this.#bios,
      pendingBios: this.#pending,
      ...(this.#biosAppliedAt === undefined ? {} : { biosAppliedAt: this.#biosAppliedAt }),
      media: Object.fromEntries(this.#media),
      indicatorLed: this.#led,
      secureBoot: this.#secureBoot,
    };
  }

  /** The identify LED (IPMI `chassis identify` lights the same one on a real board). */
  get indicatorLed(): IndicatorLed {
    return this.#led;
  }
  set indicatorLed(v: IndicatorLed) {
    if (v === this.#led) return;
    this.#led = v;
    this.#emit({ type: 'state' });
  }

  secureBoot(): SecureBootState {
    return this.#secureBoot;
  }

  /** Takes effect at the next boot; the caller has checked the machine boots in UEFI mode. */
  setSecureBootEnabled(enabled: boolean): void {
    this.#secureBoot = { ...this.#secureBoot, enabled };
    this.#emit({ type: 'state' });
  }

  /** `#SecureBoot.ResetKeys`: factory keys put the platform key back; deleting it enters setup mode. */
  resetSecureBootKeys(type: SecureBootResetKeys): void {
    this.#secureBoot = {
      ...this.#secureBoot,
      mode: type === 'ResetAllKeysToDefault' ? 'DeployedMode' : 'SetupMode',
    };
    this.#emit({ type: 'state' });
  }

  biosAttributes(): Readonly<Record<string, BiosValue>> {
    return this.#bios;
  }

  /** Attributes written to `Bios/Settings` and not yet applied (they apply at the next POST). */
  pendingBiosAttributes(): Readonly<Record<string, BiosValue>> {
    return this.#pending;
  }

  biosAppliedAt(): string | undefined {
    return this.#biosAppliedAt;
  }

  /** Records pending BIOS attributes; the caller has checked names and types against `biosAttributes()`. */
  setPendingBios(attrs: Readonly<Record<string, BiosValue>>): void {
    this.#pending = { ...this.#pending, ...attrs };
    this.#emit({ type: 'state' });
  }

  /** `#Bios.ResetBios`: the factory defaults become the pending settings, applied at the next POST. */
  resetBiosToDefaults(): void {
    this.#pending = { ...this.#biosDefaults };
    this.#emit({ type: 'state' });
  }

  media(slot: MediaSlot): MediaState {
    return this.#media.get(slot) ?? EMPTY_MEDIA;
  }

  insertMedia(slot: MediaSlot, image: string, writeProtected: boolean, inserted = true): void {
    const imageName = image.split(/[/?#]/).filter(Boolean).at(-1) ?? image;
    this.#setMedia(slot, { image, imageName, inserted, writeProtected });
  }

  ejectMedia(slot: MediaSlot): void {
    this.#setMedia(slot, EMPTY_MEDIA);
  }

  #setMedia(slot: MediaSlot, media: MediaState): void {
    this.#media.set(slot, media);
    this.#emit({ type: 'media', slot, media });
    this.#emit({ type: 'state' });
  }

  #emit(e: RedfishSystemEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        log.warn('listener failed on %s: %s', e.type, (err as Error).message);
      }
    }
  }

  #onMachine(e: MachineEvent): void {
    if (e.type === 'post') {
      const sb = this.#secureBoot;
      const enforced =
        sb.enabled && sb.mode === 'DeployedMode' && this.machine.bootOverride().mode === 'uefi'
          ? 'Enabled'
          : 'Disabled';
      if (enforced !== sb.currentBoot) {
        this.#secureBoot = { ...sb, currentBoot: enforced };
        this.#emit({ type: 'state' });
      }
      // sushy-tools and real BMCs apply pending BIOS settings during POST, whoever reset the machine.
      if (Object.keys(this.#pending).length > 0) {
        this.#bios = { ...this.#bios, ...this.#pending };
        const attributes = this.#pending;
        this.#pending = {};
        this.#biosAppliedAt = new Date().toISOString();
        this.#emit({ type: 'bios-applied', attributes });
        this.#emit({ type: 'state' });
      }
      return;
    }
    if (e.type === 'boot-source' && (e.device === 'cdrom' || e.device === 'remote-cdrom')) {
      const cd = this.media('Cd');
      if (cd.inserted && cd.image !== null) this.#emit({ type: 'media-boot', slot: 'Cd', image: cd.image });
    }
  }
}
