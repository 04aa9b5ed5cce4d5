/**
 * Sensor/Event commands, netFn 04h (IPMI v2.0 chapter 35): the device SDR view and sensor
 * readings, thresholds and event status. Readings come from the hardware model, which follows
 * the machine's power state; every read is also a scan that logs threshold crossings to the SEL.
 */
import { type Repository, repository, reservations, reserve, scanSensors } from '../model/hw.ts';
import { thresholdMasks } from '../model/sdr.ts';
import {
  effectiveThresholds,
  type Reading,
  type Sensor,
  settableMask,
  THRESHOLD_ORDER,
} from '../model/sensors.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

/** The most record bytes one Get SDR answers; more gets CAh (section 33.12). */
export const MAX_SDR_READ = 0x40;

/**
 * Get SDR / Get Device SDR request (tables 33-6 and 35-3): reservation ID, record ID, offset,
 * bytes to read (FFh = the whole record). 0000h is the first record and FFFFh the last; the
 * answer starts with the next record's ID (FFFFh after the last).
 */
export function readSdr(d: Buffer, repo: Repository, reservation: number): Buffer {
  const res = d.readUInt16LE(0);
  const id = d.readUInt16LE(2);
  const offset = d[4] as number;
  const count = d[5] as number;
  const records = repo.starts.length - 1;
  // A partial read (non-zero offset) must hold the current reservation.
  if (offset !== 0 && (res === 0 || res !== reservation))
    throw new IpmiError(Cc.ReservationCancelled, 'stale SDR reservation');
  const index = id === 0x0000 ? 0 : id === 0xffff ? records - 1 : id - 1;
  if (index < 0 || index >= records) throw new IpmiError(Cc.NotPresent, `no SDR ${id}`);
  const start = repo.starts[index] as number;
  const end = repo.starts[index + 1] as number;
  if (offset > end - start) throw new IpmiError(Cc.ParameterOutOfRange, 'offset beyond the record');
  const n = count === 0xff ? end - start - offset : Math.min(count, end - start - offset);
  if (n > MAX_SDR_READ) throw new IpmiError(Cc.CannotReturnRequestedBytes, `${n} bytes do not fit`);
  const next = index + 1 < records ? index + 2 : 0xffff;
  const out = Buffer.alloc(2 + n);
  out.writeUInt16LE(next, 0);
  repo.image.copy(out, 2, start + offset, start + offset + n);
  return out;
}

function sensorAt(ctx: CommandContext, number: number): { s: Sensor; r: Reading } {
  const s = repository(ctx).sensors.find((x) => x.number === number);
  if (s === undefined) throw new IpmiError(Cc.NotPresent, `no sensor ${number}`);
  const r = scanSensors(ctx).get(number) as Reading;
  return { s, r };
}

/**
 * Sensor flags (table 35-15 byte 2): events and scanning enabled. A power-gated sensor keeps
 * scanning with the host off — it reads 0 RPM or 0 V — but its thresholds are not evaluated
 * then (Reading.scanning), so a stopped fan of a switched-off host is not a failure.
 */
const flags = (_r: Reading) => 0xc0;

/** Threshold assertion offsets (table 42-2) for threshold status bits 0-5. */
const ASSERTION_BIT = [0, 2, 4, 7, 9, 11];

export const sensorCommands = [
  {
    // Table 35-2: number of sensors on LUN 0; flags: static population, LUN 0 has sensors.
    netFn: NetFn.SensorEvent,
    cmd: 0x20,
    name: 'getDeviceSdrInfo',
    minPriv: Priv.User,
    minLen: 0,
    handle: (d, ctx) => {
      const repo = repository(ctx);
      const count =
        d.length >= 1 && ((d[0] as number) & 1) === 1 ? repo.starts.length - 1 : repo.sensors.length;
      return Buffer.from([count, 0x01]);
    },
  },
  {
    netFn: NetFn.SensorEvent,
    cmd: 0x21,
    name: 'getDeviceSdr',
    minPriv: Priv.User,
    minLen: 6,
    handle: (d, ctx) => readSdr(d, repository(ctx), reservations(ctx.state).sdr),
  },
  {
    // Table 35-4: the device SDR view shares the repository's reservation.
    netFn: NetFn.SensorEvent,
    cmd: 0x22,
    name: 'reserveDeviceSdrRepository',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const r = reservations(ctx.state);
      r.sdr = reserve(r.sdr);
      const out = Buffer.alloc(2);
      out.writeUInt16LE(r.sdr, 0);
      return out;
    },
  },
  {
    // Table 35-7: positive, negative hysteresis; these sensors have none.
    netFn: NetFn.SensorEvent,
    cmd: 0x25,
    name: 'getSensorHysteresis',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const { s } = sensorAt(ctx, d[0] as number);
      if (s.kind !== 'analog') throw new IpmiError(Cc.IllegalForSensorOrRecord, 'discrete sensor');
      return Buffer.from([0, 0]);
    },
  },
  {
    // Table 35-8: sensor number, mask of the thresholds to set (bit order of table 35-9), then
    // lnc, lc, lnr, unc, uc, unr. Only thresholds in the SDR's settable mask may be set, and
    // only to readings the sensor can report (SDR sensor min/max); either refusal is CCh.
    // Thresholds are not checked against each other: clients set them one at a time (ipmitool
    // `sensor thresh ... upper` sends three requests), so an order check would refuse valid moves.
    netFn: NetFn.SensorEvent,
    cmd: 0x26,
    name: 'setSensorThresholds',
    minPriv: Priv.Operator,
    minLen: 8,
    handle: (d, ctx) => {
      const { s } = sensorAt(ctx, d[0] as number);
      if (s.kind !== 'analog') throw new IpmiError(Cc.IllegalForSensorOrRecord, 'discrete sensor');
      const mask = d[1] as number;
      if ((mask & ~settableMask(s)) !== 0)
        throw new IpmiError(Cc.InvalidDataField, `threshold mask ${mask} not settable on ${s.name}`);
      const next = { ...ctx.state.hw.thresholds[s.name] };
      THRESHOLD_ORDER.forEach((k, i) => {
        if ((mask & (1 << i)) === 0) return;
        const v = d[2 + i] as number;
        if (v > s.maxRaw)
          throw new IpmiError(Cc.InvalidDataField, `${s.name} ${k} ${v} beyond the sensor range`);
        next[k] = v;
      });
      if (mask !== 0) ctx.state.hw.thresholds[s.name] = next;
      // Re-arm: the next scan judges readings by the new thresholds and logs what that crosses.
      scanSensors(ctx);
      return Buffer.alloc(0);
    },
  },
  {
    // Table 35-9: readable mask, then lnc, lc, lnr, unc, uc, unr.
    netFn: NetFn.SensorEvent,
    cmd: 0x27,
    name: 'getSensorThresholds',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const { s } = sensorAt(ctx, d[0] as number);
      if (s.kind !== 'analog') throw new IpmiError(Cc.IllegalForSensorOrRecord, 'discrete sensor');
      const t = effectiveThresholds(s, ctx.state.hw.thresholds);
      const vals = [t.lnc, t.lc, t.lnr, t.unc, t.uc, t.unr];
      const mask = vals.reduce<number>((m, v, i) => (v === undefined ? m : m | (1 << i)), 0);
      return Buffer.from([mask, ...vals.map((v) => v ?? 0)]);
    },
  },
  {
    // Table 35-11: event messages and scanning enabled, then the assertion and deassertion event
    // masks 7:0 and 14:8 — the events the SDR record enables (section 43.1 bytes 15-18).
    netFn: NetFn.SensorEvent,
    cmd: 0x29,
    name: 'getSensorEventEnable',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const { s } = sensorAt(ctx, d[0] as number);
      const events = s.kind === 'analog' ? thresholdMasks(s)[0] & 0x0fff : s.mask;
      return Buffer.from([0xc0, events & 0xff, (events >> 8) & 0x7f, events & 0xff, (events >> 8) & 0x7f]);
    },
  },
  {
    // Table 35-12: flags, assertion events 7:0 and 14:8, deassertion events 7:0 and 14:8.
    netFn: NetFn.SensorEvent,
    cmd: 0x2b,
    name: 'getSensorEventStatus',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const { s, r } = sensorAt(ctx, d[0] as number);
      let asserted = r.states;
      if (s.kind === 'analog') {
        asserted = 0;
        ASSERTION_BIT.forEach((b, i) => {
          if (r.states & (1 << i)) asserted |= 1 << b;
        });
      }
      return Buffer.from([flags(r), asserted & 0xff, (asserted >> 8) & 0x7f, 0, 0]);
    },
  },
  {
    // Table 35-15: reading, flags, threshold status (or discrete states 7:0 and 14:8).
    netFn: NetFn.SensorEvent,
    cmd: 0x2d,
    name: 'getSensorReading',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const { s, r } = sensorAt(ctx, d[0] as number);
      if (s.kind === 'analog') return Buffer.from([r.raw, flags(r), 0xc0 | r.states]);
      return Buffer.from([0x00, flags(r), r.states & 0xff, 0x80 | ((r.states >> 8) & 0x7f)]);
    },
  },
] as const satisfies readonly CommandSpec[];
