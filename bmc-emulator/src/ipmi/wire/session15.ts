/**
 * IPMI v1.5 session wrapper (IPMI v2.0 table 13-8, "IPMI v1.5 LAN Session"), as `ipmitool -I lan`
 * speaks it and as Get Channel Authentication Capabilities is always sent:
 *
 *   auth type (1) | session seq (4, LE) | session ID (4, LE) | [auth code (16) unless type none]
 *   | message length (1) | IPMI message | [legacy pad 00h]
 *
 * ipmitool appends one pad byte for some total lengths (old NIC workaround); it is ignored here.
 */
import { DecodeError } from '../../../../common/src/index.ts';
import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/** Authentication type codes (table 22-16 / 13-8). 06h in this position means an RMCP+ header. */
export const AuthType = {
  None: 0x00,
  Md2: 0x01,
  Md5: 0x02,
  Password: 0x04,
  Oem: 0x05,
  RmcpPlus: 0x06,
} as const;

export interface Session15 {
  readonly authType: number;
  readonly seq: number;
  readonly sessionId: number;
  readonly authCode: Buffer | undefined;
  readonly message: Buffer;
}

export function decodeSession15(r: Reader): Session15 {
  const authType = r.u8('auth type');
  if (authType === AuthType.RmcpPlus)
    throw new DecodeError('ERR_IPMI_FORMAT', 'RMCP+ packet given to the v1.5 decoder');
  if (
    authType !== AuthType.None &&
    authType !== AuthType.Md2 &&
    authType !== AuthType.Md5 &&
    authType !== AuthType.Password
  ) {
    throw new DecodeError('ERR_IPMI_AUTHTYPE', `unsupported v1.5 auth type ${authType}`);
  }
  const seq = r.u32le('session seq');
  const sessionId = r.u32le('session id');
  const authCode = authType === AuthType.None ? undefined : r.bytes(16, 'auth code');
  const len = r.u8('message length');
  const message = r.bytes(len, 'message');
  return { authType, seq, sessionId, authCode, message };
}

export function encodeSession15(s: Session15, w: Writer): void {
  w.u8(s.authType).u32le(s.seq).u32le(s.sessionId);
  if (s.authType !== AuthType.None) {
    if (s.authCode?.length !== 16) throw new RangeError('v1.5 auth code must be 16 bytes');
    w.bytes(s.authCode);
  }
  w.u8(s.message.length).bytes(s.message);
}

export const encodedLengthSession15 = (s: Session15): number =>
  10 + (s.authType === AuthType.None ? 0 : 16) + s.message.length;
