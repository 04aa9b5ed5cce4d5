/**
 * Storage commands, netFn 0Ah (IPMI v2.0 chapters 34 FRU, 33 SDR repository, 31 SEL).
 * The FRU image, the SEL and its clock live in BmcState (plain data the lab persists).
 */
import { encodeFru, fruInfoFor } from '../model/fru.ts';
import { hardware, logEvent, repository, reservations, reserve, scanSensors, selNow } from '../model/hw.ts';
import { SDR_VERSION } from '../model/sdr.ts';
import { appendSel, clearSel, deleteSel, SEL_RECORD_LENGTH, SEL_VERSION, selIndex } from '../model/sel.ts';
import { EventSensor } from '../model/sensors.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { readSdr } from './sensor.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

/** FRU device 0's size: an EEPROM-sized area the generated image is padded into. */
export const FRU_SIZE = 512;

function fruImage(ctx: CommandContext): number[] {
  if (ctx.state.hw.fru === undefined) {
    const img = Buffer.alloc(FRU_SIZE);
    encodeFru(fruInfoFor(hardware(ctx))).copy(img);
    ctx.state.hw.fru = [...img];
  }
  return ctx.state.hw.fru;
}

function fruDevice(b: number): void {
  // Only the BMC's own FRU (device 0) exists; others are "not present" (table 34-2).
  if (b !== 0) throw new IpmiError(Cc.NotPresent, `no FRU device ${b}`);
}

const u16 = (v: number) => Buffer.from([v & 0xff, (v >> 8) & 0xff]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};

function checkSelReservation(ctx: CommandContext, res: number): void {
  // 0000h is never a reservation (section 31.4): nothing was reserved, or the reservation is stale.
  if (res === 0 || res !== reservations(ctx.state).sel)
    throw new IpmiError(Cc.ReservationCancelled, 'stale SEL reservation');
}

/** Clear SEL's confirmation bytes 'C' 'L' 'R' (table 31-9). */
const CLR = [0x43, 0x4c, 0x52];

export const storageCommands = [
  // ---- FRU (chapter 34) -------------------------------------------------------------------
  {
    // Table 34-2: area size (LE), access: bit 0 = 0 byte access.
    netFn: NetFn.Storage,
    cmd: 0x10,
    name: 'getFruInventoryAreaInfo',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      fruDevice(d[0] as number);
      return Buffer.concat([u16(fruImage(ctx).length), Buffer.from([0x00])]);
    },
  },
  {
    // Table 34-3: device, offset (LE), count → count returned, data.
    netFn: NetFn.Storage,
    cmd: 0x11,
    name: 'readFruData',
    minPriv: Priv.User,
    minLen: 4,
    handle: (d, ctx) => {
      fruDevice(d[0] as number);
      const img = fruImage(ctx);
      const offset = d.readUInt16LE(1);
      const count = d[3] as number;
      if (offset >= img.length) throw new IpmiError(Cc.ParameterOutOfRange, 'offset beyond the FRU area');
      if (count > 0xf0) throw new IpmiError(Cc.CannotReturnRequestedBytes, `${count} bytes do not fit`);
      const data = img.slice(offset, offset + count);
      return Buffer.from([data.length, ...data]);
    },
  },
  {
    // Table 34-4: device, offset (LE), data → count written. Accepted into the lab state.
    netFn: NetFn.Storage,
    cmd: 0x12,
    name: 'writeFruData',
    minPriv: Priv.Operator,
    minLen: 4,
    handle: (d, ctx) => {
      fruDevice(d[0] as number);
      const img = fruImage(ctx);
      const offset = d.readUInt16LE(1);
      const data = d.subarray(3);
      if (offset + data.length > img.length)
        throw new IpmiError(Cc.ParameterOutOfRange, 'write beyond the FRU area');
      for (let i = 0; i < data.length; i++) img[offset + i] = data[i] as number;
      return Buffer.from([data.length]);
    },
  },

  // ---- SDR repository (chapter 33) ---------------------------------------------------------
  {
    // Table 33-3: version, record count, free space, add/erase timestamps, operation support
    // (non-modal update, reserve supported; no delete, no partial add, no allocation info).
    netFn: NetFn.Storage,
    cmd: 0x20,
    name: 'getSdrRepositoryInfo',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const records = repository(ctx).starts.length - 1;
      return Buffer.concat([
        Buffer.from([SDR_VERSION]),
        u16(records),
        u16(0),
        u32(0),
        u32(0),
        Buffer.from([0x22]),
      ]);
    },
  },
  {
    netFn: NetFn.Storage,
    cmd: 0x22,
    name: 'reserveSdrRepository',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const r = reservations(ctx.state);
      r.sdr = reserve(r.sdr);
      return u16(r.sdr);
    },
  },
  {
    netFn: NetFn.Storage,
    cmd: 0x23,
    name: 'getSdr',
    minPriv: Priv.User,
    minLen: 6,
    handle: (d, ctx) => readSdr(d, repository(ctx), reservations(ctx.state).sdr),
  },

  // ---- SEL (chapter 31) --------------------------------------------------------------------
  {
    // Table 31-2. Operation support: overflow (bit 7), delete, reserve, allocation info.
    netFn: NetFn.Storage,
    cmd: 0x40,
    name: 'getSelInfo',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      scanSensors(ctx);
      const log = ctx.state.hw.sel;
      const free = Math.min(0xffff, (log.capacity - log.entries.length) * SEL_RECORD_LENGTH);
      return Buffer.concat([
        Buffer.from([SEL_VERSION]),
        u16(log.entries.length),
        u16(free),
        u32(log.lastAddition),
        u32(log.lastErase),
        Buffer.from([(log.overflow ? 0x80 : 0) | 0x0b]),
      ]);
    },
  },
  {
    // Table 31-3: allocation units, unit size, free units, largest free block, max record (units).
    netFn: NetFn.Storage,
    cmd: 0x41,
    name: 'getSelAllocationInfo',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const log = ctx.state.hw.sel;
      const free = log.capacity - log.entries.length;
      return Buffer.concat([
        u16(log.capacity),
        u16(SEL_RECORD_LENGTH),
        u16(free),
        u16(free),
        Buffer.from([1]),
      ]);
    },
  },
  {
    netFn: NetFn.Storage,
    cmd: 0x42,
    name: 'reserveSel',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const r = reservations(ctx.state);
      r.sel = reserve(r.sel);
      return u16(r.sel);
    },
  },
  {
    // Table 31-5: reservation (for partial reads), record ID, offset, bytes (FFh = all).
    netFn: NetFn.Storage,
    cmd: 0x43,
    name: 'getSelEntry',
    minPriv: Priv.User,
    minLen: 6,
    handle: (d, ctx) => {
      scanSensors(ctx);
      const offset = d[4] as number;
      const count = d[5] as number;
      if (offset !== 0) checkSelReservation(ctx, d.readUInt16LE(0));
      const log = ctx.state.hw.sel;
      const i = selIndex(log, d.readUInt16LE(2));
      const e = log.entries[i];
      if (e === undefined) throw new IpmiError(Cc.NotPresent, 'no such SEL entry');
      if (offset >= SEL_RECORD_LENGTH)
        throw new IpmiError(Cc.ParameterOutOfRange, 'offset beyond the record');
      const n = count === 0xff ? SEL_RECORD_LENGTH - offset : Math.min(count, SEL_RECORD_LENGTH - offset);
      const next = log.entries[i + 1]?.id ?? 0xffff;
      return Buffer.concat([u16(next), Buffer.from(e.bytes.slice(offset, offset + n))]);
    },
  },
  {
    // Table 31-6: a 16-byte record → its ID. A full SEL answers "out of space" (C4h).
    netFn: NetFn.Storage,
    cmd: 0x44,
    name: 'addSelEntry',
    minPriv: Priv.Operator,
    minLen: SEL_RECORD_LENGTH,
    handle: (d, ctx) => {
      const id = appendSel(ctx.state.hw.sel, [...d.subarray(0, SEL_RECORD_LENGTH)], selNow(ctx));
      if (id === undefined) throw new IpmiError(Cc.OutOfSpace, 'SEL full');
      return u16(id);
    },
  },
  {
    // Table 31-8: reservation, record ID → the deleted ID.
    netFn: NetFn.Storage,
    cmd: 0x46,
    name: 'deleteSelEntry',
    minPriv: Priv.Operator,
    minLen: 4,
    handle: (d, ctx) => {
      checkSelReservation(ctx, d.readUInt16LE(0));
      const id = deleteSel(ctx.state.hw.sel, d.readUInt16LE(2), selNow(ctx));
      if (id === undefined) throw new IpmiError(Cc.NotPresent, 'no such SEL entry');
      return u16(id);
    },
  },
  {
    // Table 31-9: reservation, 'CLR', AAh initiate / 00h get status → progress (1 = completed).
    // The erase is immediate; a real BMC then logs "log area reset/cleared", and so does this one.
    netFn: NetFn.Storage,
    cmd: 0x47,
    name: 'clearSel',
    minPriv: Priv.Operator,
    minLen: 6,
    handle: (d, ctx) => {
      checkSelReservation(ctx, d.readUInt16LE(0));
      if (!CLR.every((c, i) => d[2 + i] === c)) throw new IpmiError(Cc.InvalidDataField, "missing 'CLR'");
      const op = d[5] as number;
      if (op === 0xaa) {
        clearSel(ctx.state.hw.sel, selNow(ctx));
        logEvent(ctx, EventSensor.Sel, 0x02);
      } else if (op !== 0x00) {
        throw new IpmiError(Cc.InvalidDataField, 'clear SEL: neither initiate nor status');
      }
      return Buffer.from([0x01]);
    },
  },
  {
    netFn: NetFn.Storage,
    cmd: 0x48,
    name: 'getSelTime',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => u32(selNow(ctx)),
  },
  {
    netFn: NetFn.Storage,
    cmd: 0x49,
    name: 'setSelTime',
    minPriv: Priv.Operator,
    minLen: 4,
    handle: (d, ctx) => {
      ctx.state.hw.selTimeOffset = d.readUInt32LE(0) - Math.floor(ctx.clock.now() / 1000);
      return Buffer.alloc(0);
    },
  },
  {
    // Table 31-12: minutes from UTC, 07FFh = unspecified.
    netFn: NetFn.Storage,
    cmd: 0x5c,
    name: 'getSelTimeUtcOffset',
    minPriv: Priv.User,
    minLen: 0,
    handle: () => u16(0x07ff),
  },
] as const satisfies readonly CommandSpec[];
