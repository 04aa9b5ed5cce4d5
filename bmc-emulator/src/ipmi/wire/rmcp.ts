/**
 * RMCP (DMTF ASF 2.0 section 3.2.2) and the ASF presence ping/pong (section 3.2.4.1) that
 * `ipmitool -I lan` and Ironic's discovery send before anything else.
 *
 * RMCP header: version 06h, reserved 00h, sequence (FFh = no RMCP ACK wanted, as IPMI uses),
 * class of message (bit 7 = ACK; 06h ASF, 07h IPMI).
 */
import { DecodeError } from '../../../../common/src/index.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export const RMCP_VERSION = 0x06;
export const RmcpClass = { Asf: 0x06, Ipmi: 0x07 } as const;
export const ASF_IANA = 4542; // 0x000011BE, big-endian on the wire
export const AsfType = { Ping: 0x80, Pong: 0x40 } as const;

export interface RmcpHeader {
  readonly sequence: number;
  readonly msgClass: number;
  readonly ack: boolean;
}

export function decodeRmcpHeader(r: Reader): RmcpHeader {
  const version = r.u8('rmcp version');
  if (version !== RMCP_VERSION)
    throw new DecodeError('ERR_RMCP_VERSION', `RMCP version ${version} is not 06h`);
  r.u8('rmcp reserved');
  const sequence = r.u8('rmcp sequence');
  const cls = r.u8('rmcp class');
  return { sequence, msgClass: cls & 0x1f, ack: (cls & 0x80) !== 0 };
}

export function encodeRmcpHeader(h: RmcpHeader, w: Writer): void {
  w.u8(RMCP_VERSION)
    .u8(0)
    .u8(h.sequence)
    .u8((h.ack ? 0x80 : 0) | h.msgClass);
}

export const encodedLengthRmcpHeader = (): number => 4;

/** ASF message header: IANA (BE), type, tag, reserved, data length. */
export interface AsfMessage {
  readonly iana: number;
  readonly type: number;
  readonly tag: number;
  readonly data: Buffer;
}

export function decodeAsf(r: Reader): AsfMessage {
  const iana = r.u32be('asf iana');
  const type = r.u8('asf type');
  const tag = r.u8('asf tag');
  r.u8('asf reserved');
  const len = r.u8('asf data length');
  return { iana, type, tag, data: r.bytes(len, 'asf data') };
}

export function encodeAsf(m: AsfMessage, w: Writer): void {
  w.u32be(m.iana).u8(m.type).u8(m.tag).u8(0).u8(m.data.length).bytes(m.data);
}

export const encodedLengthAsf = (m: AsfMessage): number => 8 + m.data.length;

/**
 * Presence pong data (ASF 2.0 table 13): OEM IANA, OEM-defined (0), supported entities
 * (bit 7 = IPMI supported, bits 3:0 = ASF version 1.0), supported interactions (0), 6 reserved.
 */
export function pongData(): Buffer {
  return Buffer.from([0x00, 0x00, 0x11, 0xbe, 0, 0, 0, 0, 0x81, 0x00, 0, 0, 0, 0, 0, 0]);
}
