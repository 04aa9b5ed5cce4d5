/**
 * The seam between a BMC and the machine behind it. A BMC (IPMI or Redfish) drives a machine only
 * through this interface and reads every answer from it — never from its own memory — so that
 * "power status" of a QEMU process that died says off (DESIGN.md, fidelity rules).
 *
 * Types only, plus `InMemoryMachine`: the smallest honest machine (instant POST, boots its boot
 * device, no network), used by the BMC's tests and by `bmlab bmc serve --backend memory`.
 */

export type PowerState = 'on' | 'off';

/** Boot devices a BMC can select (IPMI v2.0 table 28-14, boot flags data 2 bits [5:2]; Redfish BootSource). */
export type BootDevice =
  | 'none'
  | 'pxe'
  | 'disk'
  | 'safe'
  | 'diag'
  | 'cdrom'
  | 'bios'
  | 'remote-floppy'
  | 'remote-cdrom'
  | 'remote-disk'
  | 'floppy';

export type BootMode = 'bios' | 'uefi';

/**
 * The boot override a BMC sets ("boot flags"): which device the next boot uses, whether it sticks
 * (persistent) or applies to one boot only, and the firmware mode. `device: 'none'` means no override:
 * the machine follows its own boot order.
 */
export interface BootOverride {
  readonly device: BootDevice;
  readonly persistent: boolean;
  readonly mode: BootMode;
}

export const NO_OVERRIDE: BootOverride = { device: 'none', persistent: false, mode: 'bios' };

export interface NicSpec {
  readonly mac: string;
}

export interface DiskSpec {
  readonly name: string;
  readonly sizeBytes: number;
}

export interface MachineSpec {
  readonly name: string;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly arch: 'x86_64' | 'aarch64';
  readonly nics: readonly NicSpec[];
  readonly disks: readonly DiskSpec[];
  /** Devices tried in order when no override is set, as a BIOS boot menu. */
  readonly bootOrder: readonly BootDevice[];
}

/** What happens to a machine, in order: BMCs turn these into SEL entries, reports into timelines. */
export type MachineEvent =
  | { readonly type: 'power'; readonly state: PowerState; readonly cause: PowerCause }
  | { readonly type: 'post' }
  | { readonly type: 'boot-source'; readonly device: BootDevice; readonly override: boolean }
  | { readonly type: 'boot-override-cleared'; readonly reason: 'consumed' | 'timeout' | 'explicit' }
  | { readonly type: 'network-boot'; readonly step: string; readonly detail?: string }
  | { readonly type: 'os-reached'; readonly os: string }
  | { readonly type: 'boot-failed'; readonly reason: string }
  | { readonly type: 'nmi' };

export type PowerCause = 'command' | 'reset' | 'soft-off' | 'guest' | 'exited';

export type MachineListener = (event: MachineEvent) => void;

/** Result of an ACPI power-button press: whether the guest took it; the lab never fakes this. */
export interface SoftOffResult {
  readonly accepted: boolean;
}

/**
 * The machine's first serial port (COM1 / ttyS0), as a BMC's Serial-over-LAN and the reports see
 * it: text out of the machine (bytes as latin1) and keystrokes into it. It lives as long as the
 * machine, across power cycles; its history is bounded, so positions are absolute offsets.
 */
export interface SerialConsole {
  /** Types into the machine's serial port. */
  write(data: string | Buffer): void;
  /** Subscribes to what the machine prints from now on; returns the unsubscribe function. */
  onText(listener: (text: string) => void): () => void;
  /** Absolute offset of the end of the output so far. */
  readonly offset: number;
  /** The output kept since absolute offset `from`. */
  text(from?: number): string;
  /** Resolves when the output since `from` matches. */
  waitFor(re: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
}

export interface Machine {
  readonly id: string;
  readonly spec: MachineSpec;
  /** Present on backends that have a serial console (all but the smallest test machines). */
  readonly serial?: SerialConsole;

  /** The real power state of the backend, read now. */
  powerState(): PowerState;
  powerOn(): Promise<void>;
  /** Hard power off (pull the plug). */
  powerOff(): Promise<void>;
  /** ACPI power button. Only a guest that honours ACPI powers off. */
  softOff(): Promise<SoftOffResult>;
  /** Hard reset of a running machine: it boots again (consuming a one-time boot override). */
  reset(): Promise<void>;
  /** Front-panel NMI / diagnostic interrupt. */
  diagnosticInterrupt(): Promise<void>;

  bootOverride(): BootOverride;
  /** A boot override set while the machine runs takes effect at its next boot. */
  setBootOverride(override: BootOverride): void;

  /** Cumulative milliseconds this machine has been powered on (POH counter). */
  poweredOnMs(): number;

  subscribe(listener: MachineListener): () => void;
}

/** Turns a clock into cumulative on-time, shared by backends. */
export class PowerOnTimer {
  #total = 0;
  #since: number | undefined;
  constructor(private readonly now: () => number) {}
  on(): void {
    this.#since ??= this.now();
  }
  off(): void {
    if (this.#since !== undefined) this.#total += this.now() - this.#since;
    this.#since = undefined;
  }
  totalMs(): number {
    return this.#total + (this.#since === undefined ? 0 : this.now() - this.#since);
  }
  /** Sets the on-time counted so far (a restarted lab putting back its machines' counters). */
  restore(totalMs: number): void {
    this.#total = totalMs;
    if (this.#since !== undefined) this.#since = this.now();
  }
}

/** Listener bookkeeping shared by backends. A throwing listener never breaks the machine. */
export class MachineEvents {
  readonly #listeners = new Set<MachineListener>();
  subscribe(listener: MachineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(event: MachineEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // a broken observer must not stop the machine
      }
    }
  }
}

export function defaultMachineSpec(index: number, name = `node-${index}`): MachineSpec {
  return {
    name,
    cpus: 2,
    memoryMiB: 4096,
    arch: 'x86_64',
    nics: [{ mac: macForIndex(index) }],
    disks: [{ name: 'vda', sizeBytes: 20 * 1024 ** 3 }],
    bootOrder: ['disk', 'pxe'],
  };
}

/** DESIGN.md: MAC addresses 52:54:00:xx:xx:xx derived from the node index (QEMU's OUI). */
export function macForIndex(index: number, nic = 0): string {
  const v = ((index & 0xffff) << 8) | (nic & 0xff);
  const b = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  return ['52', '54', '00', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The smallest honest machine: POST is instant, the boot source is the override or the first
 * device of the boot order, and nothing else runs. A one-time override is consumed by the boot.
 */
export class InMemoryMachine implements Machine {
  readonly id: string;
  readonly spec: MachineSpec;
  readonly #events = new MachineEvents();
  readonly #timer: PowerOnTimer;
  #power: PowerState = 'off';
  #override: BootOverride = NO_OVERRIDE;
  /** Whether a soft-off request is honoured, as a guest OS with ACPI would. */
  acpi = true;
  /** The device the last boot used (for tests and status output). */
  lastBootDevice: BootDevice | undefined;

  constructor(spec: MachineSpec, now: () => number = () => performance.now()) {
    this.id = spec.name;
    this.spec = spec;
    this.#timer = new PowerOnTimer(now);
  }

  powerState(): PowerState {
    return this.#power;
  }

  async powerOn(): Promise<void> {
    if (this.#power === 'on') return;
    this.#setPower('on', 'command');
    this.#boot();
  }

  async powerOff(): Promise<void> {
    if (this.#power === 'off') return;
    this.#setPower('off', 'command');
  }

  async softOff(): Promise<SoftOffResult> {
    if (this.#power === 'off' || !this.acpi) return { accepted: this.#power === 'off' };
    this.#setPower('off', 'soft-off');
    return { accepted: true };
  }

  async reset(): Promise<void> {
    if (this.#power === 'off') return;
    this.#boot();
  }

  async diagnosticInterrupt(): Promise<void> {
    this.#events.emit({ type: 'nmi' });
  }

  bootOverride(): BootOverride {
    return this.#override;
  }

  setBootOverride(override: BootOverride): void {
    this.#override = override;
  }

  poweredOnMs(): number {
    return this.#timer.totalMs();
  }

  subscribe(listener: MachineListener): () => void {
    return this.#events.subscribe(listener);
  }

  #setPower(state: PowerState, cause: PowerCause): void {
    this.#power = state;
    if (state === 'on') this.#timer.on();
    else this.#timer.off();
    this.#events.emit({ type: 'power', state, cause });
  }

  #boot(): void {
    this.#events.emit({ type: 'post' });
    const o = this.#override;
    const device = o.device !== 'none' ? o.device : (this.spec.bootOrder[0] ?? 'disk');
    if (o.device !== 'none' && !o.persistent) {
      this.#override = { ...NO_OVERRIDE, mode: o.mode };
      this.#events.emit({ type: 'boot-override-cleared', reason: 'consumed' });
    }
    this.lastBootDevice = device;
    this.#events.emit({ type: 'boot-source', device, override: o.device !== 'none' });
  }
}
