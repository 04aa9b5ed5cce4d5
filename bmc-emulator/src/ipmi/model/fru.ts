/**
 * FRU inventory in the Platform Management FRU Information Storage Definition v1.0 format (the
 * "FRU spec"): common header (section 8), chassis info area (10), board info area (11), product
 * info area (12). Every area is a multiple of 8 bytes and ends with a zero-sum checksum; fields are
 * type/length bytes with 8-bit ASCII (11b in bits 7:6) and the list ends with C1h.
 */
import { DecodeError } from '../../../../common/src/index.ts';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import type { HardwareDescription } from './hardware.ts';

export interface FruInfo {
  readonly chassis: { type: number; partNumber: string; serial: string; extra: readonly string[] };
  readonly board: {
    mfgMinutes: number;
    manufacturer: string;
    product: string;
    serial: string;
    partNumber: string;
    extra: readonly string[];
  };
  readonly product: {
    manufacturer: string;
    name: string;
    partNumber: string;
    version: string;
    serial: string;
    assetTag: string;
    extra: readonly string[];
  };
}

/** Chassis types (SMBIOS 3.3 table 17, which the FRU spec adopts): 17h = rack mount chassis. */
const RACK_MOUNT = 0x17;
const END_OF_FIELDS = 0xc1;

/** The inventory a node's BMC reports, from its hardware description. */
export function fruInfoFor(hw: HardwareDescription): FruInfo {
  const gib = (b: number) => `${Math.round(b / 1024 ** 3)} GiB`;
  return {
    chassis: { type: RACK_MOUNT, partNumber: hw.chassisPartNumber, serial: hw.chassisSerial, extra: [] },
    board: {
      mfgMinutes: hw.boardMfgMinutes,
      manufacturer: hw.boardManufacturer,
      product: hw.boardProductName,
      serial: hw.boardSerial,
      partNumber: hw.boardPartNumber,
      // The inventory behind the board, as custom fields ("Board Extra" in ipmitool).
      extra: [
        `CPUs ${hw.cpus}`,
        `Memory ${hw.memoryMiB} MiB`,
        ...hw.disks.map((d) => `Disk ${d.name} ${gib(d.sizeBytes)}`),
        ...hw.macs.map((m, i) => `NIC${i} ${m}`),
      ],
    },
    product: {
      manufacturer: hw.manufacturer,
      name: hw.productName,
      partNumber: hw.productPartNumber,
      version: hw.productVersion,
      serial: hw.productSerial,
      assetTag: hw.assetTag,
      extra: [],
    },
  };
}

function field(s: string, w: Writer): void {
  const b = Buffer.from(s.slice(0, 63), 'latin1');
  w.u8(0xc0 | b.length).bytes(b);
}

/** Zero-sum checksum byte over `b` (FRU spec section 16.2). */
export function zeroChecksum(b: Uint8Array): number {
  let sum = 0;
  for (const x of b) sum = (sum + x) & 0xff;
  return (0x100 - sum) & 0xff;
}

/** Closes an area: end marker, zero pad to a multiple of 8 (with checksum), length byte, checksum. */
function area(body: (w: Writer) => void): Buffer {
  const w = new Writer(128);
  w.u8(0x01).u8(0x00); // format version, length placeholder
  body(w);
  w.u8(END_OF_FIELDS);
  const total = Math.ceil((w.length + 1) / 8) * 8;
  w.fill(0, total - w.length - 1);
  const b = Buffer.concat([w.finish(), Buffer.alloc(1)]);
  b[1] = total / 8;
  b[total - 1] = zeroChecksum(b.subarray(0, total - 1));
  return b;
}

export function encodeFru(info: FruInfo): Buffer {
  const chassis = area((w) => {
    w.u8(info.chassis.type);
    field(info.chassis.partNumber, w);
    field(info.chassis.serial, w);
    for (const e of info.chassis.extra) field(e, w);
  });
  const board = area((w) => {
    w.u8(0x00); // language: English
    const m = info.board.mfgMinutes;
    w.u8(m & 0xff)
      .u8((m >> 8) & 0xff)
      .u8((m >> 16) & 0xff);
    field(info.board.manufacturer, w);
    field(info.board.product, w);
    field(info.board.serial, w);
    field(info.board.partNumber, w);
    field('', w); // FRU file ID
    for (const e of info.board.extra) field(e, w);
  });
  const product = area((w) => {
    w.u8(0x00);
    const p = info.product;
    for (const s of [p.manufacturer, p.name, p.partNumber, p.version, p.serial, p.assetTag, '']) field(s, w);
    for (const e of p.extra) field(e, w);
  });
  // Common header: offsets in multiples of 8 bytes; 0 = area absent.
  const hdr = Buffer.from([
    0x01,
    0x00,
    1,
    1 + chassis.length / 8,
    1 + (chassis.length + board.length) / 8,
    0,
    0,
    0,
  ]);
  hdr[7] = zeroChecksum(hdr.subarray(0, 7));
  return Buffer.concat([hdr, chassis, board, product]);
}

function fields(r: Reader, end: number): string[] {
  const out: string[] = [];
  while (r.offset < end) {
    const tl = r.u8('type/length');
    if (tl === END_OF_FIELDS) return out;
    out.push(r.bytes(tl & 0x3f, 'field').toString('latin1'));
  }
  throw new DecodeError('ERR_FRU_FORMAT', 'area has no end-of-fields marker');
}

function checkedArea(buf: Buffer, offset8: number, what: string): Reader {
  const start = offset8 * 8;
  const len = (buf[start + 1] ?? 0) * 8;
  if (len === 0 || start + len > buf.length)
    throw new DecodeError('ERR_FRU_FORMAT', `${what} area out of range`);
  if (zeroChecksum(buf.subarray(start, start + len)) !== 0)
    throw new DecodeError('ERR_FRU_CHECKSUM', `${what} area checksum`);
  const r = new Reader(buf.subarray(0, start + len));
  r.bytes(start + 2);
  return r;
}

/** Parses an image produced by encodeFru (or written by a client in the same format). */
export function decodeFru(buf: Buffer): FruInfo {
  const h = new Reader(buf).bytes(8, 'common header');
  if (h[0] !== 0x01 || zeroChecksum(h) !== 0) throw new DecodeError('ERR_FRU_CHECKSUM', 'common header');
  const c = checkedArea(buf, h[2] as number, 'chassis');
  const type = c.u8();
  const [cp = '', cs = '', ...cx] = fields(c, c.buf.length);
  const b = checkedArea(buf, h[3] as number, 'board');
  b.u8();
  const m = b.u8() | (b.u8() << 8) | (b.u8() << 16);
  const [bm = '', bp = '', bs = '', bpn = '', _bf, ...bx] = fields(b, b.buf.length);
  const p = checkedArea(buf, h[4] as number, 'product');
  p.u8();
  const [pm = '', pn = '', ppn = '', pv = '', ps = '', pa = '', _pf, ...px] = fields(p, p.buf.length);
  return {
    chassis: { type, partNumber: cp, serial: cs, extra: cx },
    board: { mfgMinutes: m, manufacturer: bm, product: bp, serial: bs, partNumber: bpn, extra: bx },
    product: {
      manufacturer: pm,
      name: pn,
      partNumber: ppn,
      version: pv,
      serial: ps,
      assetTag: pa,
      extra: px,
    },
  };
}
