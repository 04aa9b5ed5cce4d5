/**
 * The System Event Log (IPMI v2.0 chapter 31): 16-byte records (section 32), record IDs, a fixed
 * capacity and the overflow flag. Pure functions over plain data so the lab can persist the log.
 *
 *   record (table 32-1): record ID (2, LE) | record type | timestamp (4, LE, seconds)
 *     | generator ID (2) | EvM rev 04h | sensor type | sensor number | event dir/type | data 1-3
 */
import { DecodeError } from '../../../../common/src/index.ts';
import type { Reader } from '../wire/reader.ts';

export const SEL_RECORD_LENGTH = 16;
export const SEL_VERSION = 0x51;
/** System event record type (table 32-1); C0h-DFh OEM timestamped, E0h-FFh OEM not timestamped. */
export const SYSTEM_EVENT = 0x02;
/** Generator ID of the BMC itself: IPMB slave address 20h, bit 0 clear (section 32.1). */
export const BMC_GENERATOR = 0x0020;

export interface SelEntry {
  readonly id: number;
  /** The 16 bytes as stored, record ID included. */
  readonly bytes: readonly number[];
}

export interface SelLog {
  entries: SelEntry[];
  nextId: number;
  capacity: number;
  /** Set when an event was lost because the log was full (Get SEL Info byte 14 bit 7). */
  overflow: boolean;
  /** SEL timestamps (seconds) of the last addition and erase; 0 = never. */
  lastAddition: number;
  lastErase: number;
}

export function createSelLog(capacity: number): SelLog {
  return { entries: [], nextId: 1, capacity, overflow: false, lastAddition: 0, lastErase: 0 };
}

export interface SelEvent {
  readonly sensorType: number;
  readonly sensorNumber: number;
  /** Event/reading type code (table 42-1): 01h threshold, 6Fh sensor-specific. */
  readonly eventType: number;
  readonly deassertion?: boolean;
  readonly data: readonly [number, number, number];
  readonly generator?: number;
}

/** Encodes a system event record with its ID and timestamp. */
export function encodeSelEvent(id: number, timestamp: number, e: SelEvent): number[] {
  const b = Buffer.alloc(SEL_RECORD_LENGTH);
  b.writeUInt16LE(id, 0);
  b[2] = SYSTEM_EVENT;
  b.writeUInt32LE(timestamp >>> 0, 3);
  b.writeUInt16LE(e.generator ?? BMC_GENERATOR, 7);
  b[9] = 0x04;
  b[10] = e.sensorType;
  b[11] = e.sensorNumber;
  b[12] = (e.deassertion ? 0x80 : 0) | (e.eventType & 0x7f);
  b.set(e.data, 13);
  return [...b];
}

export interface DecodedSel {
  readonly id: number;
  readonly type: number;
  readonly timestamp: number;
  readonly event?: SelEvent;
}

export function decodeSelRecord(r: Reader): DecodedSel {
  const id = r.u16le('record id');
  const type = r.u8('record type');
  if (type >= 0xe0) {
    r.bytes(13, 'oem data');
    return { id, type, timestamp: 0 };
  }
  const timestamp = r.u32le('timestamp');
  if (type !== SYSTEM_EVENT) {
    r.bytes(9, 'oem data');
    return { id, type, timestamp };
  }
  const generator = r.u16le('generator');
  r.u8('evm rev');
  const sensorType = r.u8('sensor type');
  const sensorNumber = r.u8('sensor number');
  const dt = r.u8('event dir/type');
  const data = [r.u8(), r.u8(), r.u8()] as const;
  return {
    id,
    type,
    timestamp,
    event: {
      sensorType,
      sensorNumber,
      eventType: dt & 0x7f,
      deassertion: (dt & 0x80) !== 0,
      data,
      generator,
    },
  };
}

/**
 * Next free record ID: never 0000h ("first") or FFFFh ("last"), never one in use. IDs ascend
 * through the log until they wrap, so only an ID at or below the last one, or a wrapped log,
 * needs a search.
 */
function allocateId(log: SelLog): number {
  let id = log.nextId < 1 || log.nextId > 0xfffe ? 1 : log.nextId;
  const first = log.entries[0]?.id ?? 0;
  const last = log.entries.at(-1)?.id ?? 0;
  if (id <= last || first > last) {
    const used = new Set(log.entries.map((e) => e.id));
    while (used.has(id)) id = id >= 0xfffe ? 1 : id + 1;
  }
  log.nextId = id + 1;
  return id;
}

/**
 * Appends a record (16 bytes; its ID field is replaced, and the timestamp too for timestamped
 * types, as section 31.6 has the SEL device do). Returns the ID, or undefined when the log is full:
 * then the overflow flag is set and the record is lost.
 */
export function appendSel(log: SelLog, record: readonly number[], now: number): number | undefined {
  if (log.entries.length >= log.capacity) {
    log.overflow = true;
    return undefined;
  }
  const id = allocateId(log);
  const b = Buffer.from(record);
  b.writeUInt16LE(id, 0);
  if ((b[2] as number) < 0xe0) b.writeUInt32LE(now >>> 0, 3);
  log.entries.push({ id, bytes: [...b] });
  log.lastAddition = now;
  return id;
}

export function addSelEvent(log: SelLog, e: SelEvent, now: number): number | undefined {
  return appendSel(log, encodeSelEvent(0, now, e), now);
}

/** Resolves 0000h (first) and FFFFh (last) to an entry index; -1 when absent. */
export function selIndex(log: SelLog, id: number): number {
  if (log.entries.length === 0) return -1;
  if (id === 0x0000) return 0;
  if (id === 0xffff) return log.entries.length - 1;
  return log.entries.findIndex((e) => e.id === id);
}

export function deleteSel(log: SelLog, id: number, now: number): number | undefined {
  const i = selIndex(log, id);
  if (i < 0) return undefined;
  const [gone] = log.entries.splice(i, 1);
  log.lastErase = now;
  return gone?.id;
}

export function clearSel(log: SelLog, now: number): void {
  log.entries = [];
  log.overflow = false;
  log.lastErase = now;
}

/** A SEL as JSON-safe data for the lab's store: each record as 32 hex digits. */
export interface SelSnapshot {
  readonly entries: readonly string[];
  readonly nextId: number;
  readonly overflow: boolean;
  readonly lastAddition: number;
  readonly lastErase: number;
}

export function snapshotSel(log: SelLog): SelSnapshot {
  return {
    entries: log.entries.map((e) => Buffer.from(e.bytes).toString('hex')),
    nextId: log.nextId,
    overflow: log.overflow,
    lastAddition: log.lastAddition,
    lastErase: log.lastErase,
  };
}

/**
 * Puts a snapshot's records back; the capacity stays the configured one (a log restored into a
 * smaller capacity reads as full, and keeps every record it had).
 */
export function restoreSel(log: SelLog, snap: SelSnapshot): void {
  const entries: SelEntry[] = [];
  for (const hex of snap.entries) {
    if (!/^[0-9a-f]{32}$/.test(hex))
      throw new DecodeError('ERR_SNAPSHOT', `SEL record '${hex}' is not 16 bytes`);
    const bytes = [...Buffer.from(hex, 'hex')];
    entries.push({ id: (bytes[0] as number) | ((bytes[1] as number) << 8), bytes });
  }
  log.entries = entries;
  log.nextId = snap.nextId;
  log.overflow = snap.overflow;
  log.lastAddition = snap.lastAddition;
  log.lastErase = snap.lastErase;
}
