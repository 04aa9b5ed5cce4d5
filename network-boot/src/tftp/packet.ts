/**
 * TFTP packets, a pure codec (dns-packet triad: decode / encode / encodedLength).
 *
 * RFC 1350 sec. 5 (fig. 5-1..5-4): RRQ/WRQ `01|02 filename 0 mode 0`, DATA `03 block data`,
 * ACK `04 block`, ERROR `05 code message 0`; all integers big-endian.
 * RFC 2347: options appended to RRQ/WRQ as `name 0 value 0` pairs, answered by OACK (opcode 6).
 * RFC 2348 blksize (8..65464), RFC 2349 timeout (1..255 s) and tsize.
 */
import { DecodeError } from '../../../common/src/index.ts';

export const TftpOpcode = { rrq: 1, wrq: 2, data: 3, ack: 4, error: 5, oack: 6 } as const;
export type TftpOp = keyof typeof TftpOpcode;
const opByCode = new Map<number, TftpOp>(Object.entries(TftpOpcode).map(([k, v]) => [v, k as TftpOp]));

/** RFC 1350 appendix "Error Codes", RFC 2347 code 8. */
export const TftpErrorCode = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTid: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionRefused: 8,
} as const;

export type TftpOptions = readonly (readonly [name: string, value: string])[];

export type TftpPacket =
  | {
      readonly op: 'rrq' | 'wrq';
      readonly filename: string;
      readonly mode: string;
      readonly options: TftpOptions;
    }
  | { readonly op: 'data'; readonly block: number; readonly data: Buffer }
  | { readonly op: 'ack'; readonly block: number }
  | { readonly op: 'error'; readonly code: number; readonly message: string }
  | { readonly op: 'oack'; readonly options: TftpOptions };

/** Bounds-checked cursor: every read checks length and throws a typed DecodeError. */
class Reader {
  #pos = 0;
  constructor(private readonly buf: Buffer) {}
  get remaining(): number {
    return this.buf.length - this.#pos;
  }
  u16(): number {
    if (this.remaining < 2) throw new DecodeError('ERR_TFTP_SHORT', `need 2 bytes at offset ${this.#pos}`);
    const v = this.buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }
  /** A NUL-terminated string (netascii; decoded as latin1 so every byte survives a round trip). */
  cstring(what: string): string {
    const end = this.buf.indexOf(0, this.#pos);
    if (end < 0) throw new DecodeError('ERR_TFTP_UNTERMINATED', `${what} has no terminating NUL`);
    const s = this.buf.toString('latin1', this.#pos, end);
    this.#pos = end + 1;
    return s;
  }
  rest(): Buffer {
    const b = this.buf.subarray(this.#pos);
    this.#pos = this.buf.length;
    return b;
  }
}

export function decodeTftp(buf: Buffer): TftpPacket {
  const r = new Reader(buf);
  const code = r.u16();
  const op = opByCode.get(code);
  if (op === undefined) throw new DecodeError('ERR_TFTP_OPCODE', `unknown opcode ${code}`);
  switch (op) {
    case 'rrq':
    case 'wrq': {
      const filename = r.cstring('filename');
      const mode = r.cstring('mode').toLowerCase();
      return { op, filename, mode, options: readOptions(r) };
    }
    case 'data':
      return { op, block: r.u16(), data: r.rest() };
    case 'ack':
      return { op, block: r.u16() };
    case 'error':
      return { op, code: r.u16(), message: r.remaining > 0 ? r.cstring('message') : '' };
    case 'oack':
      return { op, options: readOptions(r) };
  }
}

function readOptions(r: Reader): TftpOptions {
  const out: [string, string][] = [];
  while (r.remaining > 0) {
    const name = r.cstring('option name');
    const value = r.cstring(`option ${name} value`);
    // RFC 2347: option names are case-insensitive.
    out.push([name.toLowerCase(), value]);
  }
  return out;
}

export function encodedLengthTftp(p: TftpPacket): number {
  const str = (s: string) => Buffer.byteLength(s, 'latin1') + 1;
  const opts = (o: TftpOptions) => o.reduce((n, [k, v]) => n + str(k) + str(v), 0);
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      return 2 + str(p.filename) + str(p.mode) + opts(p.options);
    case 'data':
      return 4 + p.data.length;
    case 'ack':
      return 4;
    case 'error':
      return 4 + str(p.message);
    case 'oack':
      return 2 + opts(p.options);
  }
}

export function encodeTftp(p: TftpPacket): Buffer {
  const out = Buffer.alloc(encodedLengthTftp(p));
  let pos = out.writeUInt16BE(TftpOpcode[p.op], 0);
  const str = (s: string) => {
    pos += out.write(s, pos, 'latin1');
    pos = out.writeUInt8(0, pos);
  };
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      str(p.filename);
      str(p.mode);
      for (const [k, v] of p.options) {
        str(k);
        str(v);
      }
      break;
    case 'data':
      pos = out.writeUInt16BE(p.block, pos);
      p.data.copy(out, pos);
      break;
    case 'ack':
      out.writeUInt16BE(p.block, pos);
      break;
    case 'error':
      pos = out.writeUInt16BE(p.code, pos);
      str(p.message);
      break;
    case 'oack':
      for (const [k, v] of p.options) {
        str(k);
        str(v);
      }
      break;
  }
  return out;
}

/** Option limits: RFC 2348 (blksize), RFC 2349 (timeout; tsize is any non-negative size). */
export const BLKSIZE_MIN = 8;
export const BLKSIZE_MAX = 65464;
export const TIMEOUT_MIN_S = 1;
export const TIMEOUT_MAX_S = 255;

/** Block numbers are 16 bits; after 65535 the count wraps to 0 (what tftp-hpa and iPXE expect). */
export function nextBlock(block: number): number {
  return (block + 1) & 0xffff;
}
