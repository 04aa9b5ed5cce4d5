// The load generator's view of IPMI over LAN: just the frames an RMCP+ client sends and receives.
// IPMI v2.0 rev 1.1:
//   RMCP header (section 13.1.3)       06 00 ff 07 — version, reserved, seq ff (no RMCP ack), class IPMI
//   IPMI 1.5 session header (13-6)     auth type, seq, session id, length — only for the sessionless
//                                      Get Channel Authentication Capabilities
//   IPMI 2.0 session header (13-8)     auth type 06, payload type (bit 7 encrypted, bit 6 authenticated),
//                                      session id, seq (little-endian), payload length, then the
//                                      integrity trailer (13-8 continued): pad ff…, pad length, next
//                                      header 07, AuthCode
//   IPMI LAN message (13-4)            rsSA, netFn/rsLUN, checksum, rqSA, rqSeq/rqLUN, cmd, data, checksum
// Integrity and confidentiality are functions from crypto.ts passed in by the caller, so the frames
// can be built and checked without keys.
import { DecodeError } from '../../../common/src/index.ts';

export const RMCP_HEADER = Buffer.from([0x06, 0x00, 0xff, 0x07]);

export const AuthType = { None: 0x00, RmcpPlus: 0x06 } as const;

/** Table 13-16, payload type numbers. */
export const PayloadType = {
  Ipmi: 0x00,
  OpenSessionRequest: 0x10,
  OpenSessionResponse: 0x11,
  Rakp1: 0x12,
  Rakp2: 0x13,
  Rakp3: 0x14,
  Rakp4: 0x15,
} as const;

export const NetFn = { Chassis: 0x00, App: 0x06 } as const;

export const Cmd = {
  GetChassisStatus: 0x01,
  GetChannelAuthCapabilities: 0x38,
  CloseSession: 0x3c,
} as const;

/** Slave addresses of figure 13-4: the BMC and a remote console software ID. */
export const BMC_SA = 0x20;
export const CONSOLE_SWID = 0x81;

const PAYLOAD_ENCRYPTED = 0x80;
const PAYLOAD_AUTHENTICATED = 0x40;
const NEXT_HEADER = 0x07;

function need(buf: Buffer, len: number, what: string): void {
  if (buf.length < len) {
    throw new DecodeError('ERR_IPMI_SHORT', `${what}: ${buf.length} bytes, need ${len}`);
  }
}

/** Two's-complement checksum of section 13.8: the covered bytes plus it sum to 0 mod 256. */
export function checksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += buf.readUInt8(i);
  return -sum & 0xff;
}

export interface IpmiRequest {
  netFn: number;
  cmd: number;
  rqSeq: number;
  data?: Buffer | undefined;
}

/** An IPMI LAN request message (figure 13-4), LUNs 0. */
export function encodeRequest(req: IpmiRequest): Buffer {
  const data = req.data ?? Buffer.alloc(0);
  const msg = Buffer.allocUnsafe(7 + data.length);
  msg.writeUInt8(BMC_SA, 0);
  msg.writeUInt8(req.netFn << 2, 1);
  msg.writeUInt8(checksum(msg, 0, 2), 2);
  msg.writeUInt8(CONSOLE_SWID, 3);
  msg.writeUInt8((req.rqSeq & 0x3f) << 2, 4);
  msg.writeUInt8(req.cmd, 5);
  data.copy(msg, 6);
  msg.writeUInt8(checksum(msg, 3, 6 + data.length), 6 + data.length);
  return msg;
}

export interface IpmiResponse {
  netFn: number;
  cmd: number;
  rqSeq: number;
  cc: number;
  data: Buffer;
}

/** An IPMI LAN response message: both checksums verified, response netFn is the request's + 1. */
export function decodeResponse(msg: Buffer): IpmiResponse {
  need(msg, 8, 'IPMI response');
  if (checksum(msg, 0, 3) !== 0) {
    throw new DecodeError('ERR_IPMI_CHECKSUM', 'IPMI response: bad header checksum');
  }
  if (checksum(msg, 3, msg.length) !== 0) {
    throw new DecodeError('ERR_IPMI_CHECKSUM', 'IPMI response: bad data checksum');
  }
  return {
    netFn: msg.readUInt8(1) >> 2,
    rqSeq: msg.readUInt8(4) >> 2,
    cmd: msg.readUInt8(5),
    cc: msg.readUInt8(6),
    data: msg.subarray(7, msg.length - 1),
  };
}

/** Get Channel Authentication Capabilities (22.13) outside a session, in an IPMI 1.5 frame as ipmitool sends it. */
export function encodeAuthCapsRequest(rqSeq: number): Buffer {
  // 0x8e: bit 7 asks for the IPMI v2.0 extended data, channel 0x0e = this channel; 0x04: Administrator.
  const msg = encodeRequest({
    netFn: NetFn.App,
    cmd: Cmd.GetChannelAuthCapabilities,
    rqSeq,
    data: Buffer.from([0x8e, 0x04]),
  });
  const frame = Buffer.alloc(4 + 10 + msg.length);
  RMCP_HEADER.copy(frame, 0);
  frame.writeUInt8(AuthType.None, 4);
  // seq 0 and session id 0 (bytes 5..12) stay zero.
  frame.writeUInt8(msg.length, 13);
  msg.copy(frame, 14);
  return frame;
}

/** The IPMI message carried in an unauthenticated IPMI 1.5 frame (auth type none). */
export function decodeSession15(frame: Buffer): Buffer {
  need(frame, 14, 'IPMI 1.5 frame');
  if (frame.readUInt32BE(0) !== 0x0600ff07) {
    throw new DecodeError('ERR_IPMI_NOT_RMCP', 'not an RMCP IPMI frame');
  }
  if (frame.readUInt8(4) !== AuthType.None) {
    throw new DecodeError('ERR_IPMI_AUTHTYPE', 'IPMI 1.5 frame: authenticated frames are not expected here');
  }
  const len = frame.readUInt8(13);
  need(frame, 14 + len, 'IPMI 1.5 message');
  return frame.subarray(14, 14 + len);
}

export interface Session20Frame {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  seq: number;
  payload: Buffer;
  /** The bytes the AuthCode covers: auth type through next header (13-8). */
  signed: Buffer;
  authCode: Buffer;
}

/** Integrity: returns the AuthCode for the signed bytes (HMAC-SHA1-96 for cipher suites 2 and 3). */
export type Sign = (signed: Buffer) => Buffer;

export interface Session20Out {
  payloadType: number;
  sessionId: number;
  seq: number;
  payload: Buffer;
  encrypted?: boolean;
}

/** An IPMI 2.0 frame; with `sign` it carries the integrity trailer and the authenticated bit. */
export function encodeSession20(out: Session20Out, sign?: Sign, authCodeLength = 12): Buffer {
  const headerLen = 4 + 12;
  const bodyEnd = headerLen + out.payload.length;
  // The pad makes auth type .. next header a multiple of 4 bytes (13-8, "Integrity PAD").
  const pad = sign === undefined ? 0 : (4 - ((bodyEnd - 4 + 2) % 4)) % 4;
  const total = sign === undefined ? bodyEnd : bodyEnd + pad + 2 + authCodeLength;
  const frame = Buffer.allocUnsafe(total);
  RMCP_HEADER.copy(frame, 0);
  frame.writeUInt8(AuthType.RmcpPlus, 4);
  frame.writeUInt8(
    out.payloadType | (out.encrypted ? PAYLOAD_ENCRYPTED : 0) | (sign ? PAYLOAD_AUTHENTICATED : 0),
    5,
  );
  frame.writeUInt32LE(out.sessionId >>> 0, 6);
  frame.writeUInt32LE(out.seq >>> 0, 10);
  frame.writeUInt16LE(out.payload.length, 14);
  out.payload.copy(frame, headerLen);
  if (sign !== undefined) {
    frame.fill(0xff, bodyEnd, bodyEnd + pad);
    frame.writeUInt8(pad, bodyEnd + pad);
    frame.writeUInt8(NEXT_HEADER, bodyEnd + pad + 1);
    const signedEnd = bodyEnd + pad + 2;
    const code = sign(frame.subarray(4, signedEnd));
    code.copy(frame, signedEnd, 0, authCodeLength);
  }
  return frame;
}

export function decodeSession20(frame: Buffer, authCodeLength = 12): Session20Frame {
  need(frame, 16, 'IPMI 2.0 frame');
  if (frame.readUInt32BE(0) !== 0x0600ff07) {
    throw new DecodeError('ERR_IPMI_NOT_RMCP', 'not an RMCP IPMI frame');
  }
  if (frame.readUInt8(4) !== AuthType.RmcpPlus) {
    throw new DecodeError('ERR_IPMI_AUTHTYPE', `not an RMCP+ frame (auth type ${frame.readUInt8(4)})`);
  }
  const typeByte = frame.readUInt8(5);
  const payloadType = typeByte & 0x3f;
  if (payloadType === 0x02) {
    throw new DecodeError('ERR_IPMI_PAYLOAD', 'OEM explicit payloads are not supported');
  }
  const len = frame.readUInt16LE(14);
  need(frame, 16 + len, 'IPMI 2.0 payload');
  const authenticated = (typeByte & PAYLOAD_AUTHENTICATED) !== 0;
  let signed = frame.subarray(4, 16 + len);
  let authCode = frame.subarray(0, 0);
  if (authenticated) {
    const signedEnd = frame.length - authCodeLength;
    if (signedEnd < 16 + len + 2 || (signedEnd - 4) % 4 !== 0) {
      throw new DecodeError('ERR_IPMI_TRAILER', 'IPMI 2.0 frame: bad integrity trailer length');
    }
    const pad = frame.readUInt8(signedEnd - 2);
    if (frame.readUInt8(signedEnd - 1) !== NEXT_HEADER || 16 + len + pad + 2 !== signedEnd) {
      throw new DecodeError('ERR_IPMI_TRAILER', 'IPMI 2.0 frame: bad integrity pad');
    }
    signed = frame.subarray(4, signedEnd);
    authCode = frame.subarray(signedEnd);
  }
  return {
    payloadType,
    encrypted: (typeByte & PAYLOAD_ENCRYPTED) !== 0,
    authenticated,
    sessionId: frame.readUInt32LE(6),
    seq: frame.readUInt32LE(10),
    payload: frame.subarray(16, 16 + len),
    signed,
    authCode,
  };
}
