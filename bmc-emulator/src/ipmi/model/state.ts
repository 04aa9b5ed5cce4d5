/**
 * The hardware half of a BMC's state, as plain data the lab persists: the hardware description,
 * FRU writes, the SEL, sensor faults, and the LAN, SOL and DCMI settings. Derived lazily where it
 * depends on the machine (the description comes from the machine's spec on first use).
 */
import { createHash } from 'node:crypto';
import { ConfigError, DecodeError } from '../../../../common/src/index.ts';
import type { HardwareDescription } from './hardware.ts';
import { createSelLog, type SelLog } from './sel.ts';
import type { ThresholdSettings } from './sensors.ts';

export interface LanConfig {
  /** Parameter 4: 1 static, 2 DHCP (table 23-4). */
  ipSource: number;
  ip: string;
  netmask: string;
  mac: string;
  gateway: string;
  gatewayMac: string;
  backupGateway: string;
  community: string;
  /** Parameter 20: 0 = VLAN disabled, else the ID. */
  vlanId: number;
  vlanPriority: number;
  /** Parameter 24: maximum privilege per cipher suite entry (Priv.*), by entry index. */
  cipherPrivileges: number[];
  arpControl: number;
  garpInterval: number;
}

export interface SolConfig {
  enabled: boolean;
  /** Parameter 2: bit 7 force encryption, bit 6 force authentication, 3:0 privilege level. */
  authentication: number;
  /** Parameter 3: character accumulate interval (5 ms units), send threshold (bytes). */
  accumulateInterval: number;
  sendThreshold: number;
  /** Parameter 4: retry count, retry interval (10 ms units). */
  retryCount: number;
  retryInterval: number;
  /** Parameters 5 and 6: bit rate codes (6 = 9600 ... 0Ah = 115200). */
  bitRate: number;
  nvBitRate: number;
}

export interface DcmiConfig {
  /** Set Power Limit: exception action, limit in watts, correction time in ms, sampling in s. */
  exceptionAction: number;
  limitWatts: number;
  correctionMs: number;
  samplingSec: number;
  /** Whether a limit was ever set (Get Power Limit answers 80h until then) and whether it is active. */
  limitSet: boolean;
  active: boolean;
}

export interface HardwareState {
  /** Undefined until first use: then derived from the machine's spec and the vendor profile. */
  description: HardwareDescription | undefined;
  /** The FRU image as last written (Write FRU Data); undefined = the one derived from the description. */
  fru: number[] | undefined;
  sel: SelLog;
  /** SEL time = clock seconds + this offset; undefined until first read (then the wall clock). */
  selTimeOffset: number | undefined;
  /** Raw counts (or discrete state bits) forced by fault injection, by sensor name. */
  sensorOverrides: Record<string, number>;
  /** Thresholds set with Set Sensor Thresholds (raw counts), by sensor name, over the SDR's. */
  thresholds: ThresholdSettings;
  /** Last threshold status per sensor number, to log crossings once. */
  sensorStatus: Record<number, number>;
  /** Clock ms until which the host counts as busy (POST, network boot, OS start-up). */
  busyUntil: number;
  lan: LanConfig;
  sol: SolConfig;
  dcmi: DcmiConfig;
}

export interface HardwareStateOptions {
  readonly name: string;
  /** The BMC's own LAN address (what `lan print` shows); default: the address it listens on. */
  readonly address?: string;
  readonly selCapacity?: number;
}

/** A locally administered MAC for the BMC's own port, stable per node. */
function bmcMac(name: string): string {
  const h = createHash('sha1').update(`bmlab:bmc-mac:${name}`).digest();
  const b = [0x02, h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0, h[4] ?? 0];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * Takes `address` as the BMC's LAN address unless one was configured: what `lan print` shows is
 * then the address the BMC really answers on. A loopback address gets the /8 loopback net and no
 * gateway; any other a /24 with the .1 gateway (a lab default, settable with Set LAN Config).
 */
export function adoptLanAddress(lan: LanConfig, address: string): void {
  if (lan.ip !== '' || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) return;
  const loopback = address.startsWith('127.');
  lan.ip = address;
  lan.netmask = loopback ? '255.0.0.0' : '255.255.255.0';
  lan.gateway = loopback || address === '0.0.0.0' ? '0.0.0.0' : address.replace(/\.\d+$/, '.1');
}

/** Record IDs are 16-bit with 0000h and FFFFh reserved, so a SEL holds at most FFFEh records. */
export const MAX_SEL_CAPACITY = 0xfffe;

export function createHardwareState(o: HardwareStateOptions): HardwareState {
  const capacity = o.selCapacity ?? 512;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_SEL_CAPACITY)
    throw new ConfigError('selCapacity', `must be a whole number from 1 to ${MAX_SEL_CAPACITY}`);
  const lan: LanConfig = {
    ipSource: 1,
    ip: '',
    netmask: '0.0.0.0',
    mac: bmcMac(o.name),
    gateway: '0.0.0.0',
    gatewayMac: '00:00:00:00:00:00',
    backupGateway: '0.0.0.0',
    community: 'public',
    vlanId: 0,
    vlanPriority: 0,
    cipherPrivileges: Array.from({ length: 16 }, () => 4),
    arpControl: 0x02,
    garpInterval: 0,
  };
  if (o.address !== undefined) adoptLanAddress(lan, o.address);
  return {
    description: undefined,
    fru: undefined,
    sel: createSelLog(capacity),
    selTimeOffset: undefined,
    sensorOverrides: {},
    thresholds: {},
    sensorStatus: {},
    busyUntil: 0,
    lan,
    sol: {
      enabled: true,
      authentication: 0x02,
      accumulateInterval: 12,
      sendThreshold: 96,
      retryCount: 7,
      retryInterval: 50,
      bitRate: 0x0a,
      nvBitRate: 0x0a,
    },
    dcmi: {
      exceptionAction: 0,
      limitWatts: 0,
      correctionMs: 1000,
      samplingSec: 1,
      limitSet: false,
      active: false,
    },
  };
}

/**
 * The hardware state that outlives a BMC restart, as JSON-safe data: FRU writes (the image as
 * hex), the SEL clock offset, sensor faults, thresholds set, LAN, SOL and DCMI settings. The SEL
 * itself is kept apart (`snapshotSel`) because it is the one part that grows; the description is
 * derived again from the machine's spec, and scan status and load are volatile as on a real BMC.
 */
export interface HardwareSnapshot {
  readonly fru: string | null;
  /**
   * Seconds the SEL clock is ahead of the wall clock (Set SEL Time moves it). The offset itself is
   * relative to the BMC's clock, which starts anew with the process; the skew is what a BMC's
   * battery-backed clock keeps while the lab is down.
   */
  readonly selTimeSkew: number | null;
  readonly sensorOverrides: Record<string, number>;
  readonly thresholds: ThresholdSettings;
  readonly lan: LanConfig;
  readonly sol: SolConfig;
  readonly dcmi: DcmiConfig;
}

/** `clockMs` is the BMC's clock now (its `Clock.now()`), `wallMs` the wall clock. */
export function snapshotHardwareState(
  hw: HardwareState,
  clockMs: number,
  wallMs = Date.now(),
): HardwareSnapshot {
  return {
    fru: hw.fru === undefined ? null : Buffer.from(hw.fru).toString('hex'),
    selTimeSkew:
      hw.selTimeOffset === undefined ? null : Math.round(clockMs + hw.selTimeOffset * 1000 - wallMs) / 1000,
    sensorOverrides: { ...hw.sensorOverrides },
    thresholds: structuredClone(hw.thresholds),
    lan: { ...hw.lan, cipherPrivileges: [...hw.lan.cipherPrivileges] },
    sol: { ...hw.sol },
    dcmi: { ...hw.dcmi },
  };
}

/** Copies only the keys the default has, each of the default's type: an old or foreign snapshot cannot inject fields. */
export function assignChecked<T extends object>(target: T, from: unknown, what: string): void {
  if (typeof from !== 'object' || from === null)
    throw new DecodeError('ERR_SNAPSHOT', `${what} is not an object`);
  const src = from as Record<string, unknown>;
  const dst = target as Record<string, unknown>;
  for (const k of Object.keys(dst)) {
    if (!(k in src)) continue; // a field added since the snapshot was taken keeps its default
    const v = src[k];
    const d = dst[k];
    if (Array.isArray(d) ? !Array.isArray(v) : typeof v !== typeof d)
      throw new DecodeError('ERR_SNAPSHOT', `${what}.${k} has the wrong type`);
    dst[k] = Array.isArray(v) ? [...v] : v;
  }
}

export function restoreHardwareState(
  hw: HardwareState,
  snap: HardwareSnapshot,
  clockMs: number,
  wallMs = Date.now(),
): void {
  if (snap.fru !== null) {
    if (typeof snap.fru !== 'string' || !/^([0-9a-f]{2})*$/.test(snap.fru))
      throw new DecodeError('ERR_SNAPSHOT', 'hw.fru is not hex');
    hw.fru = [...Buffer.from(snap.fru, 'hex')];
  }
  if (typeof snap.selTimeSkew === 'number') hw.selTimeOffset = (wallMs - clockMs) / 1000 + snap.selTimeSkew;
  hw.sensorOverrides = { ...snap.sensorOverrides };
  hw.thresholds = structuredClone(snap.thresholds ?? {});
  assignChecked(hw.lan, snap.lan, 'hw.lan');
  assignChecked(hw.sol, snap.sol, 'hw.sol');
  assignChecked(hw.dcmi, snap.dcmi, 'hw.dcmi');
}
