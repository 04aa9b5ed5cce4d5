/**
 * Everything a BMC remembers, as plain data: users, GUIDs, its vendor profile, boot option
 * parameters, policies. Plain so the lab can persist it and restore it after a restart; the
 * machine's own state (power, boot override) lives with the machine, never here.
 */
import { createHash } from 'node:crypto';
import { ConfigError, DecodeError } from '../../../common/src/index.ts';
import type { Machine } from '../../../vm-fleet/src/index.ts';
import type { CommandRegistry } from './commands/registry.ts';
import { Priv } from './commands/types.ts';
import { DEFAULT_CIPHER_SUITES } from './crypto/cipher-suites.ts';
import {
  assignChecked,
  createHardwareState,
  type HardwareSnapshot,
  type HardwareState,
  restoreHardwareState,
  snapshotHardwareState,
} from './model/state.ts';

/** Privilege limit value meaning "no access" (Set User Access, table 22-?). */
export const NO_ACCESS = 0x0f;
export const MAX_USERS = 10;

export interface UserRecord {
  /** 1-based user ID; user 1 is the null (anonymous) user by IPMI convention. */
  readonly id: number;
  name: string;
  password: string;
  enabled: boolean;
  /** Privilege limit on the LAN channel (Priv.* or NO_ACCESS). */
  privilege: number;
  ipmiMessaging: boolean;
  linkAuth: boolean;
  /** "User restricted to callback" (Get User Access byte 4 bit 6). */
  callbackOnly: boolean;
}

/** What Get Device ID reports (IPMI v2.0 table 20-2): lets a lab look like several vendors. */
export interface DeviceProfile {
  readonly name: string;
  readonly deviceId: number;
  readonly deviceRevision: number;
  readonly firmwareMajor: number;
  /** BCD, e.g. 0x25 for x.25 */
  readonly firmwareMinor: number;
  readonly manufacturerId: number;
  readonly productId: number;
  readonly auxFirmware: readonly [number, number, number, number];
}

/** Vendor profiles by IANA enterprise number, as ipmitool's `mc info` names them. */
export const VENDOR_PROFILES: Readonly<Record<string, DeviceProfile>> = {
  generic: {
    name: 'generic',
    deviceId: 0x20,
    deviceRevision: 0x01,
    firmwareMajor: 1,
    firmwareMinor: 0x00,
    manufacturerId: 0x0000,
    productId: 0x0001,
    auxFirmware: [0, 0, 0, 0],
  },
  dell: {
    name: 'dell',
    deviceId: 0x20,
    deviceRevision: 0x81,
    firmwareMajor: 7,
    firmwareMinor: 0x00,
    manufacturerId: 674,
    productId: 0x0100,
    auxFirmware: [0, 0x0a, 0x00, 0x00],
  },
  hpe: {
    name: 'hpe',
    deviceId: 0x13,
    deviceRevision: 0x03,
    firmwareMajor: 2,
    firmwareMinor: 0x78,
    manufacturerId: 11,
    productId: 0x2000,
    auxFirmware: [0, 0, 0, 0],
  },
  lenovo: {
    name: 'lenovo',
    deviceId: 0x20,
    deviceRevision: 0x01,
    firmwareMajor: 5,
    firmwareMinor: 0x30,
    manufacturerId: 19046,
    productId: 0x0400,
    auxFirmware: [0, 0, 0, 0],
  },
  supermicro: {
    name: 'supermicro',
    deviceId: 0x20,
    deviceRevision: 0x01,
    firmwareMajor: 1,
    firmwareMinor: 0x74,
    manufacturerId: 10876,
    productId: 0x1b19,
    auxFirmware: [0, 0, 0, 0],
  },
};

export interface BootParams {
  /** Parameter 0, bits 1:0 (00 set complete, 01 set in progress, 10 commit write). */
  setInProgress: number;
  /** Parameter 1. */
  serviceSelector: number;
  /** Parameter 2. */
  serviceScan: number;
  /** Parameter 3, "BMC boot flag valid bit clearing"; bit 3 disables the 60 s timeout. */
  validBitClearing: number;
  /** Parameter 4 data byte (boot initiator acknowledge). */
  ack: number;
  /**
   * Parameter 5 bytes 2-5 as last written, minus the device selector (which comes from the
   * machine): CMOS clear, lock keyboard, console redirection, BIOS verbosity, instance.
   */
  flagsRest: [number, number, number, number];
  /** When the valid bit was last set (clock ms), for the 60 s timeout (section 28.13). */
  flagsSetAt: number | undefined;
  /** Parameters 6 and 7, stored verbatim. */
  initiatorInfo: number[];
  initiatorMailbox: number[];
}

export interface BmcState {
  deviceGuid: Buffer;
  systemGuid: Buffer;
  profile: DeviceProfile;
  users: UserRecord[];
  /** BMC key Kg (`ipmitool -y`); undefined = one-key logins (Kg = Kuid). */
  kg: Buffer | undefined;
  cipherSuites: number[];
  /** IPMI v1.5 authentication types offered on the LAN channel. */
  auth15: { none: boolean; md5: boolean; password: boolean };
  boot: BootParams;
  /** 0 always off, 1 restore previous, 2 always on (Set Power Restore Policy). */
  powerRestorePolicy: number;
  /** Chassis identify: clock ms until which it is lit, or Infinity. */
  identifyUntil: number;
  /** Get System Restart Cause, bits 3:0 (table 28-11). */
  restartCause: number;
  /** Get Chassis Status byte 2 bit 4: the last power-on came from an IPMI command. */
  lastPowerOnByCommand: boolean;
  channelPrivilegeLimit: number;
  /** Vendor quirks a lab can switch on to reproduce field bugs. */
  quirks: { bootDeviceNotPersistent: boolean };
  /** Hardware model: FRU, SEL, sensor faults, LAN/SOL/DCMI settings (model/state.ts). */
  hw: HardwareState;
}

export interface BmcStateOptions {
  /** Seeds the GUIDs so the same node keeps the same identity across restarts. */
  readonly name: string;
  readonly username?: string;
  readonly password?: string;
  readonly vendor?: string;
  /** Overrides of the vendor profile's fields, e.g. a specific manufacturer or product ID. */
  readonly profile?: Partial<Omit<DeviceProfile, 'name'>>;
  readonly cipherSuites?: readonly number[];
  readonly kg?: string;
  readonly auth15?: Partial<BmcState['auth15']>;
  /** The BMC's LAN address, as Get LAN Configuration Parameters reports it. */
  readonly address?: string;
  /** SEL capacity in records. */
  readonly selCapacity?: number;
}

/**
 * A name-based (version 5) GUID, stable per node, in the byte order IPMI puts on the wire:
 * the 16 RFC 4122 bytes reversed (IPMI v2.0 section 20.8 / SMBIOS: least significant byte first),
 * which ipmitool's `mc guid` recognises as "IPMI" encoding.
 */
export function guidFromName(name: string, kind: string): Buffer {
  const g = Buffer.from(createHash('sha1').update(`bmlab:${kind}:${name}`).digest().subarray(0, 16));
  g[6] = ((g[6] as number) & 0x0f) | 0x50;
  g[8] = ((g[8] as number) & 0x3f) | 0x80;
  return g.reverse();
}

export function createBmcState(o: BmcStateOptions): BmcState {
  const vendor = o.vendor ?? 'generic';
  const profile = VENDOR_PROFILES[vendor];
  if (profile === undefined) {
    throw new ConfigError(
      'vendor',
      `unknown vendor profile '${vendor}' (known: ${Object.keys(VENDOR_PROFILES).join(', ')})`,
    );
  }
  for (const [field, max] of [
    ['manufacturerId', 0xfffff],
    ['productId', 0xffff],
  ] as const) {
    const v = o.profile?.[field];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > max)) {
      throw new ConfigError(field, `must be a whole number from 0 to ${max}`);
    }
  }
  const username = o.username ?? 'admin';
  const password = o.password ?? 'password';
  if (Buffer.byteLength(username) > 16) throw new ConfigError('user', 'IPMI user names are at most 16 bytes');
  if (Buffer.byteLength(password) > 20)
    throw new ConfigError('password', 'IPMI passwords are at most 20 bytes');
  for (const id of o.cipherSuites ?? []) {
    if (![0, 1, 2, 3, 15, 16, 17].includes(id))
      throw new ConfigError('cipherSuites', `unsupported cipher suite ${id}`);
  }
  const users: UserRecord[] = [];
  for (let id = 1; id <= MAX_USERS; id++) {
    users.push({
      id,
      name: '',
      password: '',
      enabled: false,
      privilege: NO_ACCESS,
      ipmiMessaging: false,
      linkAuth: false,
      callbackOnly: false,
    });
  }
  // User 2 is the configured administrator, as on most BMCs (user 1 is the anonymous user).
  Object.assign(users[1] as UserRecord, {
    name: username,
    password,
    enabled: true,
    privilege: Priv.Admin,
    ipmiMessaging: true,
    linkAuth: true,
    callbackOnly: false,
  });
  return {
    deviceGuid: guidFromName(o.name, 'device'),
    systemGuid: guidFromName(o.name, 'system'),
    profile: { ...profile, ...o.profile },
    users,
    kg: o.kg === undefined || o.kg === '' ? undefined : Buffer.from(o.kg),
    cipherSuites: [...(o.cipherSuites ?? DEFAULT_CIPHER_SUITES)],
    auth15: { none: false, md5: true, password: true, ...o.auth15 },
    boot: {
      setInProgress: 0,
      serviceSelector: 0,
      serviceScan: 0,
      validBitClearing: 0,
      ack: 0,
      flagsRest: [0, 0, 0, 0],
      flagsSetAt: undefined,
      initiatorInfo: [0, 0, 0, 0, 0, 0, 0, 0, 0],
      initiatorMailbox: [],
    },
    // "Restore previous", as server BMCs ship (Dell "AC Power Recovery: Last", HPE "Restore Last
    // Power State"): a lab that restarts brings back the machines that were on.
    powerRestorePolicy: 1,
    identifyUntil: 0,
    restartCause: 0,
    lastPowerOnByCommand: false,
    channelPrivilegeLimit: Priv.Admin,
    quirks: { bootDeviceNotPersistent: false },
    hw: createHardwareState({
      name: o.name,
      ...(o.address === undefined ? {} : { address: o.address }),
      ...(o.selCapacity === undefined ? {} : { selCapacity: o.selCapacity }),
    }),
  };
}

export function findUserByName(state: BmcState, name: Buffer): UserRecord | undefined {
  const n = name.toString('latin1');
  return state.users.find((u) => u.enabled && u.name === n && (n !== '' || u.id === 1));
}

/**
 * What of a BMC's state outlives a restart of the lab, as JSON-safe data: users (names,
 * passwords, privileges, enabled), the boot option parameters, policies, restart cause, vendor
 * quirks set as faults, and the hardware half (`HardwareSnapshot`; the SEL separately). Identity
 * (GUIDs, profile), Kg and cipher suites come from the configuration every start; the 60 s boot
 * flag timer and identify are volatile, as on a real BMC.
 */
export interface BmcSnapshot {
  readonly users: readonly UserRecord[];
  readonly boot: Omit<BootParams, 'flagsSetAt'>;
  readonly powerRestorePolicy: number;
  readonly restartCause: number;
  readonly lastPowerOnByCommand: boolean;
  readonly channelPrivilegeLimit: number;
  readonly quirks: BmcState['quirks'];
  readonly hw: HardwareSnapshot;
}

/** `clockMs`: the BMC's clock now (the `Clock` it was built with), for the SEL clock's skew. */
export function snapshotBmcState(s: BmcState, clockMs: number): BmcSnapshot {
  const { flagsSetAt: _volatile, ...boot } = s.boot;
  return {
    users: s.users.map((u) => ({ ...u })),
    boot: {
      ...boot,
      flagsRest: [...boot.flagsRest],
      initiatorInfo: [...boot.initiatorInfo],
      initiatorMailbox: [...boot.initiatorMailbox],
    },
    powerRestorePolicy: s.powerRestorePolicy,
    restartCause: s.restartCause,
    lastPowerOnByCommand: s.lastPowerOnByCommand,
    channelPrivilegeLimit: s.channelPrivilegeLimit,
    quirks: { ...s.quirks },
    hw: snapshotHardwareState(s.hw, clockMs),
  };
}

/** Puts a snapshot back into a freshly created state; a snapshot of the wrong shape is a DecodeError. */
export function restoreBmcState(s: BmcState, snap: BmcSnapshot, clockMs: number): void {
  if (!Array.isArray(snap.users) || snap.users.length !== s.users.length)
    throw new DecodeError('ERR_SNAPSHOT', `users: expected ${s.users.length} user slots`);
  snap.users.forEach((u, i) => {
    const user = s.users[i] as UserRecord;
    if (u.id !== user.id) throw new DecodeError('ERR_SNAPSHOT', `users[${i}] has ID ${u.id}, not ${user.id}`);
    assignChecked(user, u, `users[${i}]`);
  });
  assignChecked(s.boot, snap.boot, 'boot');
  s.boot.flagsSetAt = undefined;
  for (const k of [
    'powerRestorePolicy',
    'restartCause',
    'lastPowerOnByCommand',
    'channelPrivilegeLimit',
  ] as const)
    assignChecked(s, { [k]: snap[k] }, '');
  assignChecked(s.quirks, snap.quirks, 'quirks');
  restoreHardwareState(s.hw, snap.hw, clockMs);
}

/**
 * Requests that change nothing a snapshot holds (netFn << 8 | cmd): session set-up and identity
 * reads — Get Chassis Status (00h/01h), Get Device ID (06h/01h), Get Device GUID (06h/08h), Get
 * System GUID (06h/37h), Get Channel Authentication Capabilities (06h/38h), Get Session Challenge
 * (06h/39h), Activate Session (06h/3Ah), Set Session Privilege Level (06h/3Bh), Close Session
 * (06h/3Ch), Get Channel Cipher Suites (06h/54h). They are what a provisioning system's power-state
 * poll sends, so a watcher skips them.
 */
const UNCHANGING = new Set([0x0001, 0x0601, 0x0608, 0x0637, 0x0638, 0x0639, 0x063a, 0x063b, 0x063c, 0x0654]);

/**
 * The BMC state's change hook: calls `onChange` after anything that may have changed what
 * `snapshotBmcState` returns — every answered request but the ones above (sensor and SEL reads
 * included: a scan may log a threshold crossing), and every machine event (the SEL logs power and
 * boot events). It may call when nothing changed; a caller compares snapshots. It chains the
 * registry's observer (the one there stays first) and returns the function that stops watching.
 */
export function watchBmcState(
  bmc: { readonly registry: CommandRegistry; readonly machine: Machine },
  onChange: () => void,
): () => void {
  const registry = bmc.registry;
  const previous = registry.observer;
  const observer: NonNullable<CommandRegistry['observer']> = (t) => {
    previous?.(t);
    if (!UNCHANGING.has((t.netFn << 8) | t.cmd)) onChange();
  };
  registry.observer = observer;
  const unsubscribe = bmc.machine.subscribe(() => onChange());
  return () => {
    unsubscribe();
    if (registry.observer === observer) registry.observer = previous;
  };
}
