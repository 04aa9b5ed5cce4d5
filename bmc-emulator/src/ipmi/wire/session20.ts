/**
 * IPMI v2.0 RMCP+ session wrapper (IPMI v2.0 table 13-8, "IPMI v2.0/RMCP+ Session"):
 *
 *   auth type 06h | payload type (bit 7 encrypted, bit 6 authenticated, 5:0 type)
 *   | [OEM IANA (4) | OEM payload ID (2)]  only for payload type 02h
 *   | session ID (4, LE) | session seq (4, LE) | payload length (2, LE) | payload
 *   | [integrity pad FFh… | pad length | next header 07h | AuthCode]  only when authenticated
 *
 * The pad makes the bytes from auth type through next header a multiple of 4 (section 13.28.4);
 * the AuthCode is the integrity algorithm's MAC over that same range. The algorithm comes in as
 * a function so that the codec stays pure and cipher suite 0 needs no crypto.
 */
import { DecodeError } from '../../../../common/src/index.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

export const PayloadType = {
  Ipmi: 0x00,
  Sol: 0x01,
  Oem: 0x02,
  OpenSessionRequest: 0x10,
  OpenSessionResponse: 0x11,
  Rakp1: 0x12,
  Rakp2: 0x13,
  Rakp3: 0x14,
  Rakp4: 0x15,
} as const;

export const NEXT_HEADER = 0x07;

export interface Session20 {
  readonly payloadType: number;
  readonly encrypted: boolean;
  readonly authenticated: boolean;
  readonly oemIana?: number | undefined;
  readonly oemPayloadId?: number | undefined;
  readonly sessionId: number;
  readonly seq: number;
  readonly payload: Buffer;
  /** Bytes after the payload: the integrity trailer when authenticated. */
  readonly trailer: Buffer;
}

/**
 * The integrity algorithm as the codec sees it: how long its AuthCode is, how to compute it, and how
 * to check one in place (every byte compared, whatever the first difference: the time taken says
 * nothing about the code).
 */
export interface IntegrityCodec {
  readonly authCodeLength: number;
  sign(data: Buffer): Buffer;
  /** Whether the AuthCode at `packet[signedLength]` is the one of `packet[0..signedLength)`. */
  check(packet: Buffer, signedLength: number): boolean;
}

export function decodeSession20(r: Reader): Session20 {
  const authType = r.u8('auth type');
  if (authType !== 0x06) throw new DecodeError('ERR_IPMI_FORMAT', `auth type ${authType} is not RMCP+ (06h)`);
  const pt = r.u8('payload type');
  const payloadType = pt & 0x3f;
  // One object shape for every packet (no spread of optional fields): this runs for each datagram.
  let oemIana: number | undefined;
  let oemPayloadId: number | undefined;
  if (payloadType === PayloadType.Oem) {
    oemIana = r.u32le('oem iana');
    oemPayloadId = r.u16le('oem payload id');
  }
  const sessionId = r.u32le('session id');
  const seq = r.u32le('session seq');
  const len = r.u16le('payload length');
  const payload = r.bytes(len, 'payload');
  const trailer = r.rest();
  return {
    payloadType,
    encrypted: (pt & 0x80) !== 0,
    authenticated: (pt & 0x40) !== 0,
    oemIana,
    oemPayloadId,
    sessionId,
    seq,
    payload,
    trailer,
  };
}

/**
 * Checks the integrity trailer of a whole RMCP+ packet (`packet` starts at the auth type byte).
 * Returns false for any malformed trailer or a wrong AuthCode; never throws.
 */
export function verifySession20(packet: Buffer, s: Session20, integrity: IntegrityCodec): boolean {
  const n = integrity.authCodeLength;
  const t = s.trailer;
  if (t.length < n + 2) return false;
  const padLen = t[t.length - n - 2] as number;
  if (t[t.length - n - 1] !== NEXT_HEADER) return false;
  if (padLen + 2 + n !== t.length) return false;
  for (let i = 0; i < padLen; i++) if (t[i] !== 0xff) return false;
  const signedLen = packet.length - n;
  if ((signedLen & 3) !== 0) return false;
  return integrity.check(packet, signedLen);
}

export function encodeSession20(s: Omit<Session20, 'trailer'>, w: Writer, integrity?: IntegrityCodec): void {
  const start = w.length;
  w.u8(0x06).u8((s.encrypted ? 0x80 : 0) | (s.authenticated ? 0x40 : 0) | s.payloadType);
  if (s.payloadType === PayloadType.Oem) w.u32le(s.oemIana ?? 0).u16le(s.oemPayloadId ?? 0);
  w.u32le(s.sessionId).u32le(s.seq).u16le(s.payload.length).bytes(s.payload);
  if (s.authenticated) {
    if (integrity === undefined)
      throw new RangeError('an authenticated payload needs an integrity algorithm');
    const padLen = (4 - ((w.length - start + 2) & 3)) & 3;
    w.fill(0xff, padLen).u8(padLen).u8(NEXT_HEADER);
    w.bytes(integrity.sign(w.view(start)));
  }
}

export function encodedLengthSession20(s: Omit<Session20, 'trailer'>, integrity?: IntegrityCodec): number {
  const head = 2 + (s.payloadType === PayloadType.Oem ? 6 : 0) + 10 + s.payload.length;
  if (!s.authenticated) return head;
  const padLen = (4 - ((head + 2) & 3)) & 3;
  return head + padLen + 2 + (integrity?.authCodeLength ?? 0);
}
