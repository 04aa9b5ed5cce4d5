/**
 * The IPMI LAN message inside a session payload (IPMI v2.0 section 13.8, tables 13-4 and 13-5):
 *
 *   request:  rsSA | netFn<<2 | rsLUN | chk1 | rqSA | rqSeq<<2 | rqLUN | cmd | data… | chk2
 *   response: rqSA | netFn<<2 | rqLUN | chk1 | rsSA | rqSeq<<2 | rsLUN | cmd | cc | data… | chk2
 *
 * chk1 covers the first two bytes, chk2 everything from the fourth byte; each is the two's
 * complement of the 8-bit sum, so that the covered bytes plus the checksum sum to zero (pyghmi
 * `_checksum`).
 */
import { DecodeError } from '../../../../common/src/index.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export const BMC_SA = 0x20;
export const REMOTE_SWID = 0x81;

export function checksum(buf: Uint8Array, start = 0, end = buf.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (buf[i] as number)) & 0xff;
  return -sum & 0xff;
}

export interface IpmiRequest {
  readonly rsAddr: number;
  readonly netFn: number;
  readonly rsLun: number;
  readonly rqAddr: number;
  readonly rqSeq: number;
  readonly rqLun: number;
  readonly cmd: number;
  readonly data: Buffer;
}

export interface IpmiResponse {
  readonly rqAddr: number;
  readonly netFn: number;
  readonly rqLun: number;
  readonly rsAddr: number;
  readonly rqSeq: number;
  readonly rsLun: number;
  readonly cmd: number;
  readonly cc: number;
  readonly data: Buffer;
}

/** Minimum message: 6 header bytes + checksum 2. */
const MIN_REQUEST = 7;

export function decodeRequest(r: Reader): IpmiRequest {
  const raw = r.rest();
  if (raw.length < MIN_REQUEST) {
    throw new DecodeError(
      'ERR_IPMI_SHORT',
      `IPMI message of ${raw.length} bytes is shorter than ${MIN_REQUEST}`,
    );
  }
  if (checksum(raw, 0, 2) !== raw[2])
    throw new DecodeError('ERR_IPMI_CHECKSUM', 'IPMI header checksum mismatch');
  if (checksum(raw, 3, raw.length - 1) !== raw[raw.length - 1]) {
    throw new DecodeError('ERR_IPMI_CHECKSUM', 'IPMI data checksum mismatch');
  }
  const b1 = raw[1] as number;
  const b4 = raw[4] as number;
  return {
    rsAddr: raw[0] as number,
    netFn: b1 >> 2,
    rsLun: b1 & 3,
    rqAddr: raw[3] as number,
    rqSeq: b4 >> 2,
    rqLun: b4 & 3,
    cmd: raw[5] as number,
    data: raw.subarray(6, raw.length - 1),
  };
}

/** Writes the six header bytes and the data, each checksum computed over what was written. */
function encodeFrame(
  w: Writer,
  b0: number,
  b1: number,
  b3: number,
  b4: number,
  b5: number,
  cc: number | undefined,
  data: Buffer,
): void {
  w.u8(b0)
    .u8(b1)
    .u8(-(b0 + b1) & 0xff);
  w.u8(b3).u8(b4).u8(b5);
  let sum = b3 + b4 + b5;
  if (cc !== undefined) {
    w.u8(cc);
    sum += cc;
  }
  w.bytes(data);
  for (let i = 0; i < data.length; i++) sum += data[i] as number;
  w.u8(-sum & 0xff);
}

export function encodeRequest(m: IpmiRequest, w: Writer): void {
  encodeFrame(
    w,
    m.rsAddr,
    (m.netFn << 2) | m.rsLun,
    m.rqAddr,
    (m.rqSeq << 2) | m.rqLun,
    m.cmd,
    undefined,
    m.data,
  );
}

export const encodedLengthRequest = (m: IpmiRequest): number => 7 + m.data.length;

export function decodeResponse(r: Reader): IpmiResponse {
  const raw = r.rest();
  if (raw.length < MIN_REQUEST + 1) {
    throw new DecodeError('ERR_IPMI_SHORT', `IPMI response of ${raw.length} bytes is too short`);
  }
  if (checksum(raw, 0, 2) !== raw[2])
    throw new DecodeError('ERR_IPMI_CHECKSUM', 'IPMI header checksum mismatch');
  if (checksum(raw, 3, raw.length - 1) !== raw[raw.length - 1]) {
    throw new DecodeError('ERR_IPMI_CHECKSUM', 'IPMI data checksum mismatch');
  }
  const b1 = raw[1] as number;
  const b4 = raw[4] as number;
  return {
    rqAddr: raw[0] as number,
    netFn: b1 >> 2,
    rqLun: b1 & 3,
    rsAddr: raw[3] as number,
    rqSeq: b4 >> 2,
    rsLun: b4 & 3,
    cmd: raw[5] as number,
    cc: raw[6] as number,
    data: raw.subarray(7, raw.length - 1),
  };
}

export function encodeResponse(m: IpmiResponse, w: Writer): void {
  encodeFrame(w, m.rqAddr, (m.netFn << 2) | m.rqLun, m.rsAddr, (m.rqSeq << 2) | m.rsLun, m.cmd, m.cc, m.data);
}

export const encodedLengthResponse = (m: IpmiResponse): number => 8 + m.data.length;

/** The response that answers `req` (netFn + 1, addresses swapped, LUNs kept). */
export function responseTo(req: IpmiRequest, cc: number, data: Buffer = Buffer.alloc(0)): IpmiResponse {
  return {
    rqAddr: req.rqAddr,
    netFn: req.netFn | 1,
    rqLun: req.rqLun,
    rsAddr: req.rsAddr,
    rqSeq: req.rqSeq,
    rsLun: req.rsLun,
    cmd: req.cmd,
    cc,
    data,
  };
}
