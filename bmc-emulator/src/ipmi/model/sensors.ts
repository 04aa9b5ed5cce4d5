/**
 * The sensors a virtual BMC has, and what they read. Readings follow the machine: with the host
 * off, fans stand still, temperatures sit at ambient and DC rails read 0; with it on they hold
 * plausible values that drift slowly, deterministically from the node's seed and the clock, so
 * a replayed run reads the same numbers.
 *
 * Analog values are carried as raw bytes with the linear conversion of IPMI v2.0 section 36.3
 * (y = (M * x + B * 10^Bexp) * 10^Rexp); each sensor's M/B/Rexp are chosen so that one count
 * is a natural step (1 degC, 100 RPM, 60 mV ...).
 */
import type { HardwareDescription } from './hardware.ts';

/** Sensor types (table 42-3) used here. */
export const SensorType = {
  Temperature: 0x01,
  Voltage: 0x02,
  Fan: 0x04,
  PowerSupply: 0x08,
  PowerUnit: 0x09,
  OtherUnits: 0x0b,
  EventLoggingDisabled: 0x10,
  SystemEvent: 0x12,
  CriticalInterrupt: 0x13,
  SystemRestart: 0x1d,
  BootError: 0x1e,
  OsBoot: 0x1f,
  AcpiPowerState: 0x22,
  MgmtSubsystemHealth: 0x28,
} as const;

/** Sensor unit type codes (table 43-15). */
export const Unit = { Celsius: 0x01, Volts: 0x04, Watts: 0x06, Rpm: 0x12 } as const;

/** Entity IDs (table 43-13). */
export const Entity = {
  Processor: 0x03,
  SystemBoard: 0x07,
  PowerSupply: 0x0a,
  Bmc: 0x06,
  Fan: 0x1d,
  AirInlet: 0x37,
} as const;

/** Threshold values as raw counts; undefined = that threshold does not exist. */
export interface Thresholds {
  readonly lnr?: number;
  readonly lc?: number;
  readonly lnc?: number;
  readonly unc?: number;
  readonly uc?: number;
  readonly unr?: number;
}

/** Order of Get Sensor Thresholds / the reading mask bits (table 35-9): lnc, lc, lnr, unc, uc, unr. */
export const THRESHOLD_ORDER = ['lnc', 'lc', 'lnr', 'unc', 'uc', 'unr'] as const;
export type ThresholdName = (typeof THRESHOLD_ORDER)[number];

/** Thresholds changed with Set Sensor Thresholds, by sensor name (raw counts); the lab persists them. */
export type ThresholdSettings = Record<string, Partial<Record<ThresholdName, number>>>;

export interface AnalogSensor {
  readonly kind: 'analog';
  readonly number: number;
  readonly name: string;
  readonly type: number;
  readonly entity: number;
  readonly instance: number;
  readonly unit: number;
  readonly m: number;
  readonly b: number;
  readonly rExp: number;
  readonly nominal: number;
  /** The thresholds the board ships with (the SDR's values); Set Sensor Thresholds may change them. */
  readonly thresholds: Thresholds;
  /**
   * Whether Set Sensor Thresholds may change the thresholds this sensor has (SDR capabilities
   * bits 3:2 = 10b and the settable mask, table 43-1 bytes 12 and 20). Voltage rails keep the
   * board designer's limits, as on most servers.
   */
  readonly settable: boolean;
  /** Highest raw reading the sensor can report (SDR "sensor maximum reading", byte 34). */
  readonly maxRaw: number;
  /** Raw reading with the host off, and the centre of the drift with it on. */
  readonly offRaw: number;
  readonly onRaw: number;
  /** Peak drift in counts while on. */
  readonly drift: number;
  /** Counts added at full load (the host busy booting or working). */
  readonly loadGain: number;
  /** Readable when the host is off (standby rail); otherwise thresholds are not evaluated. */
  readonly standby: boolean;
}

export interface DiscreteSensor {
  readonly kind: 'discrete';
  readonly number: number;
  readonly name: string;
  readonly type: number;
  readonly entity: number;
  readonly instance: number;
  /** Event/reading type code: 6Fh = sensor-specific (table 42-1). */
  readonly readingType: number;
  /** Offsets this sensor can assert (bit mask). */
  readonly mask: number;
  /** What its reading reflects: a PSU, the host's ACPI state, or nothing (event-only sensor). */
  readonly role: 'psu' | 'acpi' | 'event';
}

export type Sensor = AnalogSensor | DiscreteSensor;

/** Converts a raw count to its unit (section 36.3, linear sensors). */
export function toUnits(s: AnalogSensor, raw: number): number {
  return (s.m * raw + s.b) * 10 ** s.rExp;
}

/** The sensor table of one node; sensor numbers are stable for a given description. */
export function sensorsFor(hw: HardwareDescription): Sensor[] {
  const out: Sensor[] = [];
  const analog = (
    s: Omit<AnalogSensor, 'kind' | 'number' | 'b' | 'loadGain' | 'settable' | 'maxRaw'> & {
      b?: number;
      loadGain?: number;
      settable?: boolean;
      maxRaw?: number;
    },
  ) =>
    out.push({
      kind: 'analog',
      number: out.length + 1,
      b: 0,
      loadGain: 0,
      settable: true,
      maxRaw: 0xff,
      ...s,
    });
  analog({
    name: 'CPU Temp',
    type: SensorType.Temperature,
    entity: Entity.Processor,
    instance: 1,
    unit: Unit.Celsius,
    m: 1,
    rExp: 0,
    nominal: 45,
    thresholds: { unc: 85, uc: 90, unr: 95 },
    offRaw: 22,
    onRaw: 38 + Math.min(hw.cpus, 16),
    drift: 3,
    loadGain: 18,
    standby: false,
    maxRaw: 127,
  });
  analog({
    name: 'Inlet Temp',
    type: SensorType.Temperature,
    entity: Entity.AirInlet,
    instance: 1,
    unit: Unit.Celsius,
    m: 1,
    rExp: 0,
    nominal: 24,
    thresholds: { lc: 3, lnc: 8, unc: 40, uc: 45 },
    offRaw: 22,
    onRaw: 24,
    drift: 1,
    standby: true,
    maxRaw: 127,
  });
  for (let i = 1; i <= hw.fans; i++) {
    analog({
      name: `Fan${i}`,
      type: SensorType.Fan,
      entity: Entity.Fan,
      instance: i,
      unit: Unit.Rpm,
      m: 100,
      rExp: 0,
      nominal: 54,
      thresholds: { lnr: 3, lc: 5, lnc: 8 },
      offRaw: 0,
      onRaw: 50 + ((hw.seed >> i) & 0x07),
      drift: 3,
      loadGain: 14,
      standby: false,
    });
  }
  // Voltages: M counts of 10^-2 V per raw count.
  const rail = (name: string, volts: number, m: number, standby: boolean) => {
    const nominal = Math.round((volts * 100) / m);
    const pct = (p: number) => Math.round((nominal * p) / 100);
    analog({
      name,
      type: SensorType.Voltage,
      entity: Entity.SystemBoard,
      instance: 1,
      unit: Unit.Volts,
      m,
      rExp: -2,
      nominal,
      thresholds: { lc: pct(90), lnc: pct(95), unc: pct(105), uc: pct(110) },
      offRaw: standby ? nominal : 0,
      onRaw: nominal,
      drift: 1,
      standby,
      settable: false,
    });
  };
  rail('12V', 12, 6, false);
  rail('5V', 5, 3, false);
  rail('3.3V', 3.3, 2, false);
  rail('VBAT', 3, 2, true);
  for (let i = 1; i <= hw.psus; i++) {
    out.push({
      kind: 'discrete',
      number: out.length + 1,
      name: `PSU${i} Status`,
      type: SensorType.PowerSupply,
      entity: Entity.PowerSupply,
      instance: i,
      readingType: 0x6f,
      // Table 42-3, power supply: 0 presence detected, 1 failure detected, 3 input lost.
      mask: 0x000b,
      role: 'psu',
    });
  }
  analog({
    name: 'Pwr Consumption',
    type: SensorType.OtherUnits,
    entity: Entity.SystemBoard,
    instance: 1,
    unit: Unit.Watts,
    m: 2,
    rExp: 0,
    nominal: 0,
    thresholds: { unc: 200, uc: 230 },
    offRaw: 0,
    onRaw: Math.round(powerWatts(hw) / 2),
    drift: 4,
    // About 10 W more per CPU under load (counts are 2 W).
    loadGain: 5 * Math.min(hw.cpus, 16),
    standby: true,
  });
  // Discrete sensors the BMC logs its own events against (table 42-3 offsets in the mask).
  const discrete = (name: string, type: number, entity: number, mask: number, role: DiscreteSensor['role']) =>
    out.push({
      kind: 'discrete',
      number: out.length + 1,
      name,
      type,
      entity,
      instance: 1,
      readingType: 0x6f,
      mask,
      role,
    });
  discrete(EventSensor.Acpi, SensorType.AcpiPowerState, Entity.SystemBoard, 0x04e1, 'acpi');
  discrete(EventSensor.PowerUnit, SensorType.PowerUnit, Entity.PowerSupply, 0x0003, 'event');
  discrete(EventSensor.SysRestart, SensorType.SystemRestart, Entity.SystemBoard, 0x00ff, 'event');
  discrete(EventSensor.OsBoot, SensorType.OsBoot, Entity.SystemBoard, 0x007f, 'event');
  discrete(EventSensor.BootError, SensorType.BootError, Entity.SystemBoard, 0x001f, 'event');
  discrete(EventSensor.Nmi, SensorType.CriticalInterrupt, Entity.SystemBoard, 0x0001, 'event');
  discrete(EventSensor.SystemEvent, SensorType.SystemEvent, Entity.SystemBoard, 0x0001, 'event');
  discrete(EventSensor.Sel, SensorType.EventLoggingDisabled, Entity.Bmc, 0x0034, 'event');
  discrete(EventSensor.BmcHealth, SensorType.MgmtSubsystemHealth, Entity.Bmc, 0x0004, 'event');
  return out;
}

/** Names of the event sensors, which the event log looks up by name. */
export const EventSensor = {
  Acpi: 'ACPI State',
  PowerUnit: 'Power Unit',
  SysRestart: 'Sys Restart',
  OsBoot: 'OS Boot',
  BootError: 'Boot Error',
  Nmi: 'NMI',
  SystemEvent: 'System Event',
  Sel: 'SEL',
  BmcHealth: 'BMC Health',
} as const;

/** A plausible idle draw: chassis, per-CPU and per-GiB shares, per-disk. */
export function powerWatts(hw: HardwareDescription): number {
  return Math.min(400, Math.round(70 + 12 * hw.cpus + 0.4 * (hw.memoryMiB / 1024) + 6 * hw.disks.length));
}

/** A small deterministic wobble in [-1, 1]: two slow sines with per-sensor phases from the seed. */
function wobble(seed: number, sensor: number, tMs: number): number {
  const phase = ((seed ^ (sensor * 0x9e3779b1)) >>> 0) / 0xffffffff;
  const t = tMs / 1000;
  return (
    0.7 * Math.sin((2 * Math.PI * t) / 97 + 2 * Math.PI * phase) +
    0.3 * Math.sin((2 * Math.PI * t) / 13 + 7 * phase)
  );
}

export interface Reading {
  readonly raw: number;
  /** Whether thresholds are evaluated (power-gated sensors are not while the host is off). */
  readonly scanning: boolean;
  /** Discrete sensors: asserted offsets. Analog: threshold status bits (table 35-15 byte 3). */
  readonly states: number;
}

/** The thresholds in force: the SDR's, with the ones set through Set Sensor Thresholds over them. */
export function effectiveThresholds(s: AnalogSensor, settings: ThresholdSettings): Thresholds {
  const set = settings[s.name];
  return set === undefined ? s.thresholds : { ...s.thresholds, ...set };
}

/** Settable threshold mask (table 43-1 byte 20, bit order of table 35-9): the thresholds it has, if settable. */
export function settableMask(s: AnalogSensor): number {
  if (!s.settable) return 0;
  return THRESHOLD_ORDER.reduce((m, k, i) => (s.thresholds[k] === undefined ? m : m | (1 << i)), 0);
}

/** Threshold status bits, table 35-15 byte 3: 0 <lnc, 1 <lc, 2 <lnr, 3 >unc, 4 >uc, 5 >unr. */
export function thresholdStatus(t: Thresholds, raw: number): number {
  let s = 0;
  if (t.lnc !== undefined && raw <= t.lnc) s |= 0x01;
  if (t.lc !== undefined && raw <= t.lc) s |= 0x02;
  if (t.lnr !== undefined && raw <= t.lnr) s |= 0x04;
  if (t.unc !== undefined && raw >= t.unc) s |= 0x08;
  if (t.uc !== undefined && raw >= t.uc) s |= 0x10;
  if (t.unr !== undefined && raw >= t.unr) s |= 0x20;
  return s;
}

/**
 * What sensor `s` reads now, with the host at `load` (0 idle .. 1 busy). `override` (a raw count,
 * from the lab's fault injection) wins over the model, so a lab can make a fan fail or a CPU overheat.
 */
export function readSensor(
  s: Sensor,
  hw: HardwareDescription,
  on: boolean,
  tMs: number,
  override: number | undefined,
  load = 0,
  thresholds: Thresholds = s.kind === 'analog' ? s.thresholds : {},
): Reading {
  if (s.kind === 'discrete') {
    // A PSU in a powered chassis is present and healthy; ACPI state S0/G0 (offset 0) when on,
    // S5/G2 soft-off (offset 5) when off; the override replaces the state bits.
    const states = s.role === 'psu' ? 0x0001 : s.role === 'acpi' ? (on ? 0x0001 : 0x0020) : 0;
    return { raw: 0, scanning: true, states: override ?? states };
  }
  const scanning = on || s.standby;
  let raw: number;
  if (override !== undefined) raw = override;
  else if (!on) raw = s.offRaw;
  else raw = Math.round(s.onRaw + s.loadGain * load + s.drift * wobble(hw.seed, s.number, tMs));
  raw = Math.max(0, Math.min(255, raw));
  return { raw, scanning, states: scanning ? thresholdStatus(thresholds, raw) : 0 };
}
