/**
 * Sensor Data Records (IPMI v2.0 chapter 43): the pure encoders for the records a BMC's SDR
 * repository holds, and a decoder of the common fields (for tests and tools).
 *
 *   header (table 43-1 bytes 1-5): record ID (LE) | SDR version 51h | record type | body length
 *   full sensor record     01h  table 43-1
 *   compact sensor record  02h  table 43-2
 *   FRU device locator     11h  table 43-7
 *   MC device locator      12h  table 43-8
 */
import type { Reader } from '../wire/reader.ts';
import type { Writer } from '../wire/writer.ts';
import type { HardwareDescription } from './hardware.ts';
import {
  type AnalogSensor,
  type DiscreteSensor,
  Entity,
  type Sensor,
  settableMask,
  THRESHOLD_ORDER,
} from './sensors.ts';

export const SdrType = { Full: 0x01, Compact: 0x02, FruLocator: 0x11, McLocator: 0x12 } as const;
export const SDR_VERSION = 0x51;
/** The BMC's IPMB slave address, owner of every sensor (section 5.5). */
export const BMC_ADDRESS = 0x20;

/** ID strings: 8-bit ASCII+Latin-1 type (11b in bits 7:6, section 43.15), at most 16 bytes. */
function idString(s: string, w: Writer): void {
  const b = Buffer.from(s.slice(0, 16), 'latin1');
  w.u8(0xc0 | b.length).bytes(b);
}

function header(recordId: number, type: number, bodyLength: number, w: Writer): void {
  w.u16le(recordId).u8(SDR_VERSION).u8(type).u8(bodyLength);
}

const u10 = (v: number) => v & 0x3ff;
const s4 = (v: number) => v & 0x0f;

/** Threshold masks: [assertion|lower reading, deassertion|upper reading, readable|settable]. */
export function thresholdMasks(s: AnalogSensor): [number, number, number] {
  let readable = 0;
  let events = 0;
  THRESHOLD_ORDER.forEach((k, i) => {
    if (s.thresholds[k] === undefined) return;
    readable |= 1 << i;
    // Assertion events (table 43-1 bytes 15-16): going-low for lower, going-high for upper thresholds.
    events |= i < 3 ? 1 << (i * 2) : 1 << (i * 2 + 1);
  });
  const lower = (readable & 0x07) << 12;
  const upper = ((readable >> 3) & 0x07) << 12;
  return [events | lower, events | upper, readable];
}

export function fullSensorLength(s: AnalogSensor): number {
  return 5 + 43 + Math.min(s.name.length, 16);
}

export function encodeFullSensor(recordId: number, s: AnalogSensor, w: Writer): void {
  header(recordId, SdrType.Full, fullSensorLength(s) - 5, w);
  const [assert, deassert, readable] = thresholdMasks(s);
  const t = s.thresholds;
  w.u8(BMC_ADDRESS).u8(0x00).u8(s.number);
  w.u8(s.entity).u8(s.instance);
  // Initialization: scanning, events, thresholds and type initialised; enabled at power-up.
  w.u8(0x7f);
  // Capabilities: auto re-arm, no hysteresis, thresholds readable (01b) or readable and settable
  // (10b) in bits 3:2, per-threshold event control.
  const settable = settableMask(s);
  w.u8(settable === 0 ? 0x44 : 0x48);
  w.u8(s.type).u8(0x01);
  w.u16le(assert).u16le(deassert).u8(readable).u8(settable);
  w.u8(0x00).u8(s.unit).u8(0x00); // unsigned, base unit, no modifier
  w.u8(0x00); // linear
  w.u8(s.m & 0xff).u8((u10(s.m) >> 8) << 6);
  w.u8(s.b & 0xff).u8((u10(s.b) >> 8) << 6);
  w.u8(0x00); // accuracy, direction unspecified
  w.u8((s4(s.rExp) << 4) | 0);
  w.u8(s.nominal > 0 ? 0x01 : 0x00);
  // Nominal, normal max/min, sensor max/min reading (bytes 32-36): the range thresholds must lie in.
  w.u8(s.nominal).u8(s.maxRaw).u8(0x00).u8(s.maxRaw).u8(0x00);
  for (const k of ['unr', 'uc', 'unc', 'lnr', 'lc', 'lnc'] as const) w.u8(t[k] ?? 0);
  w.u8(0).u8(0).u16le(0).u8(0);
  idString(s.name, w);
}

export function compactSensorLength(s: DiscreteSensor): number {
  return 5 + 27 + Math.min(s.name.length, 16);
}

export function encodeCompactSensor(recordId: number, s: DiscreteSensor, w: Writer): void {
  header(recordId, SdrType.Compact, compactSensorLength(s) - 5, w);
  w.u8(BMC_ADDRESS).u8(0x00).u8(s.number);
  w.u8(s.entity).u8(s.instance);
  w.u8(0x67); // scanning, events, type initialised; enabled
  w.u8(0x40); // auto re-arm, no thresholds, per-offset event control
  w.u8(s.type).u8(s.readingType);
  w.u16le(s.mask).u16le(s.mask).u16le(s.mask);
  w.u8(0x00).u8(0x00).u8(0x00);
  w.u8(0x01).u8(0x00); // no record sharing
  w.u8(0).u8(0);
  w.u8(0).u8(0).u8(0).u8(0);
  idString(s.name, w);
}

export function fruLocatorLength(name: string): number {
  return 5 + 11 + Math.min(name.length, 16);
}

/** The BMC's own FRU (device 0), a logical FRU device behind the management controller. */
export function encodeFruLocator(recordId: number, name: string, w: Writer): void {
  header(recordId, SdrType.FruLocator, fruLocatorLength(name) - 5, w);
  w.u8(BMC_ADDRESS).u8(0x00).u8(0x80).u8(0x00).u8(0x00);
  w.u8(0x10).u8(0x00); // FRU inventory device behind management controller
  w.u8(Entity.SystemBoard).u8(0x01).u8(0x00);
  idString(name, w);
}

export function mcLocatorLength(name: string): number {
  return 5 + 11 + Math.min(name.length, 16);
}

/** Device capabilities byte 9: chassis, FRU inventory, SEL, SDR repository, sensor device. */
export const MC_CAPABILITIES = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;

export function encodeMcLocator(recordId: number, name: string, w: Writer): void {
  header(recordId, SdrType.McLocator, mcLocatorLength(name) - 5, w);
  w.u8(BMC_ADDRESS).u8(0x00).u8(0x00).u8(MC_CAPABILITIES);
  w.u8(0).u8(0).u8(0);
  w.u8(Entity.Bmc).u8(0x01).u8(0x00);
  idString(name, w);
}

export interface SdrSummary {
  readonly recordId: number;
  readonly type: number;
  readonly length: number;
  /** Sensor number for sensor records. */
  readonly sensor?: number;
  readonly entity: number;
  readonly name: string;
}

/** Decodes one record's header and naming fields; the Reader stops after the record. */
export function decodeSdr(r: Reader): SdrSummary {
  const recordId = r.u16le('record id');
  r.u8('sdr version');
  const type = r.u8('record type');
  const length = r.u8('record length');
  const body = r.bytes(length, 'record body');
  const at = (i: number) => body[i] ?? 0;
  const name = (off: number) => body.subarray(off + 1, off + 1 + (at(off) & 0x1f)).toString('latin1');
  switch (type) {
    case SdrType.Full:
      return { recordId, type, length, sensor: at(2), entity: at(3), name: name(42) };
    case SdrType.Compact:
      return { recordId, type, length, sensor: at(2), entity: at(3), name: name(26) };
    default:
      return { recordId, type, length, entity: at(7), name: name(10) };
  }
}

/** The whole repository of one node, in record-ID order (IDs from 1). */
export function buildSdrRepository(hw: HardwareDescription, sensors: readonly Sensor[], w: Writer): number[] {
  const starts: number[] = [];
  let id = 1;
  starts.push(w.length);
  encodeMcLocator(id++, 'BMC', w);
  starts.push(w.length);
  encodeFruLocator(id++, hw.productName.slice(0, 16), w);
  for (const s of sensors) {
    starts.push(w.length);
    if (s.kind === 'analog') encodeFullSensor(id++, s, w);
    else encodeCompactSensor(id++, s, w);
  }
  starts.push(w.length);
  return starts;
}
