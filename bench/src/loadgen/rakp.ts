// RMCP+ session establishment payloads and keys for cipher suite 3 (RAKP-HMAC-SHA1, HMAC-SHA1-96,
// AES-CBC-128), IPMI v2.0 rev 1.1:
//   13-9  / 13-10  RMCP+ Open Session Request / Response
//   13-11 / 13-12  RAKP Message 1 / 2      13-13 / 13-14  RAKP Message 3 / 4
//   13.31          SIK = HMAC_KG(Rm | Rc | RoleM | ULengthM | <UNameM>), K1/K2 = HMAC_SIK(const 1/2 × 20)
//   13.28.4        HMAC-SHA1-96: the first 12 bytes of HMAC-SHA1 keyed with K1
//   13.29 / 13-20  AES-CBC-128 keyed with the first 16 bytes of K2: IV, then payload + pad 1,2,3.. + pad length
// Session IDs are written little-endian and enter the HMACs as their wire bytes.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { DecodeError } from '../../../common/src/index.ts';

/** Table 13-17/18/19 algorithm numbers of cipher suite 3. */
export const CIPHER_SUITE_3 = { auth: 0x01, integrity: 0x01, confidentiality: 0x01 } as const;

/** RAKP 1 requested role: bit 4 = name-only lookup (what ipmitool sends), low nibble = privilege. */
export const ROLE_ADMIN_NAME_ONLY = 0x14;

function need(buf: Buffer, len: number, what: string): void {
  if (buf.length < len) throw new DecodeError('ERR_IPMI_SHORT', `${what}: ${buf.length} bytes, need ${len}`);
}

function sid(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function hmacSha1(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function encodeOpenSessionRequest(tag: number, consoleSid: number): Buffer {
  const p = Buffer.alloc(32);
  p.writeUInt8(tag, 0);
  // byte 1: requested maximum privilege 0 = "highest level matching proposed algorithms".
  p.writeUInt32LE(consoleSid >>> 0, 4);
  // Three 8-byte algorithm payloads: type, reserved ×2, length 8, algorithm, reserved ×3.
  const algs = [CIPHER_SUITE_3.auth, CIPHER_SUITE_3.integrity, CIPHER_SUITE_3.confidentiality];
  algs.forEach((alg, i) => {
    p.writeUInt8(i, 8 + i * 8);
    p.writeUInt8(0x08, 8 + i * 8 + 3);
    p.writeUInt8(alg, 8 + i * 8 + 4);
  });
  return p;
}

export interface OpenSessionResponse {
  tag: number;
  status: number;
  maxPriv: number;
  consoleSid: number;
  managedSid: number;
  auth: number;
  integrity: number;
  confidentiality: number;
}

export function decodeOpenSessionResponse(p: Buffer): OpenSessionResponse {
  need(p, 2, 'Open Session Response');
  const status = p.readUInt8(1);
  if (status !== 0) {
    // An error response may stop after the remote console session ID (13-10).
    return {
      tag: p.readUInt8(0),
      status,
      maxPriv: 0,
      consoleSid: p.length >= 8 ? p.readUInt32LE(4) : 0,
      managedSid: 0,
      auth: 0,
      integrity: 0,
      confidentiality: 0,
    };
  }
  need(p, 36, 'Open Session Response');
  return {
    tag: p.readUInt8(0),
    status,
    maxPriv: p.readUInt8(2),
    consoleSid: p.readUInt32LE(4),
    managedSid: p.readUInt32LE(8),
    auth: p.readUInt8(16),
    integrity: p.readUInt8(24),
    confidentiality: p.readUInt8(32),
  };
}

export function encodeRakp1(tag: number, managedSid: number, rm: Buffer, role: number, user: Buffer): Buffer {
  const p = Buffer.alloc(28 + user.length);
  p.writeUInt8(tag, 0);
  p.writeUInt32LE(managedSid >>> 0, 4);
  rm.copy(p, 8, 0, 16);
  p.writeUInt8(role, 24);
  p.writeUInt8(user.length, 27);
  user.copy(p, 28);
  return p;
}

export interface Rakp2 {
  tag: number;
  status: number;
  consoleSid: number;
  rc: Buffer;
  guid: Buffer;
  authCode: Buffer;
}

export function decodeRakp2(p: Buffer): Rakp2 {
  need(p, 8, 'RAKP 2');
  const status = p.readUInt8(1);
  const tail = status === 0 ? p : Buffer.alloc(0);
  if (status === 0) need(p, 40, 'RAKP 2');
  return {
    tag: p.readUInt8(0),
    status,
    consoleSid: p.readUInt32LE(4),
    rc: tail.subarray(8, 24),
    guid: tail.subarray(24, 40),
    authCode: tail.subarray(40),
  };
}

export function encodeRakp3(tag: number, status: number, managedSid: number, authCode: Buffer): Buffer {
  const p = Buffer.alloc(8 + authCode.length);
  p.writeUInt8(tag, 0);
  p.writeUInt8(status, 1);
  p.writeUInt32LE(managedSid >>> 0, 4);
  authCode.copy(p, 8);
  return p;
}

export interface Rakp4 {
  tag: number;
  status: number;
  consoleSid: number;
  icv: Buffer;
}

export function decodeRakp4(p: Buffer): Rakp4 {
  need(p, 8, 'RAKP 4');
  return { tag: p.readUInt8(0), status: p.readUInt8(1), consoleSid: p.readUInt32LE(4), icv: p.subarray(8) };
}

/** What both sides know once RAKP 2 has arrived: the inputs of every HMAC of 13.31. */
export interface RakpExchange {
  consoleSid: number;
  managedSid: number;
  rm: Buffer;
  rc: Buffer;
  guid: Buffer;
  role: number;
  user: Buffer;
}

function roleAndName(x: RakpExchange): Buffer {
  return Buffer.concat([Buffer.from([x.role, x.user.length]), x.user]);
}

/** RAKP 2 Key Exchange Authentication Code, computed by the BMC with Kuid (13-12). */
export function rakp2AuthCode(kuid: Buffer, x: RakpExchange): Buffer {
  return hmacSha1(kuid, sid(x.consoleSid), sid(x.managedSid), x.rm, x.rc, x.guid, roleAndName(x));
}

/** RAKP 3 Key Exchange Authentication Code, computed by the console with Kuid (13-13). */
export function rakp3AuthCode(kuid: Buffer, x: RakpExchange): Buffer {
  return hmacSha1(kuid, x.rc, sid(x.consoleSid), roleAndName(x));
}

/** Session Integrity Key; KG is Kuid unless the BMC has a key set (13.31). */
export function sessionIntegrityKey(kg: Buffer, x: RakpExchange): Buffer {
  return hmacSha1(kg, x.rm, x.rc, roleAndName(x));
}

/** K1 (integrity) and K2 (confidentiality) are HMAC_SIK of a 20-byte constant 0x01.. / 0x02.. (13.32). */
export function additionalKey(sik: Buffer, n: 1 | 2): Buffer {
  return hmacSha1(sik, Buffer.alloc(20, n));
}

/** RAKP 4 Integrity Check Value: HMAC_SIK(Rm | SIDc | GUIDc), first 12 bytes for RAKP-HMAC-SHA1 (13-14). */
export function rakp4Icv(sik: Buffer, x: RakpExchange): Buffer {
  return hmacSha1(sik, x.rm, sid(x.managedSid), x.guid).subarray(0, 12);
}

export interface SessionKeys {
  sik: Buffer;
  k1: Buffer;
  aesKey: Buffer;
}

export function deriveKeys(kg: Buffer, x: RakpExchange): SessionKeys {
  const sik = sessionIntegrityKey(kg, x);
  return { sik, k1: additionalKey(sik, 1), aesKey: additionalKey(sik, 2).subarray(0, 16) };
}

/** HMAC-SHA1-96 AuthCode over a frame's signed bytes. */
export function integrity(k1: Buffer, signed: Buffer): Buffer {
  return createHmac('sha1', k1).update(signed).digest().subarray(0, 12);
}

/** AES-CBC-128 payload (13-20): IV, then ciphertext of payload + pad 01 02 .. + pad length. */
export function encryptPayload(aesKey: Buffer, iv: Buffer, plain: Buffer): Buffer {
  const padLen = (16 - ((plain.length + 1) % 16)) % 16;
  const block = Buffer.allocUnsafe(plain.length + padLen + 1);
  plain.copy(block, 0);
  for (let i = 0; i < padLen; i++) block.writeUInt8(i + 1, plain.length + i);
  block.writeUInt8(padLen, plain.length + padLen);
  const c = createCipheriv('aes-128-cbc', aesKey, iv).setAutoPadding(false);
  return Buffer.concat([iv, c.update(block), c.final()]);
}

export function decryptPayload(aesKey: Buffer, payload: Buffer): Buffer {
  if (payload.length < 32 || payload.length % 16 !== 0) {
    throw new DecodeError('ERR_IPMI_CONF', `AES-CBC-128 payload of ${payload.length} bytes`);
  }
  const d = createDecipheriv('aes-128-cbc', aesKey, payload.subarray(0, 16)).setAutoPadding(false);
  const block = Buffer.concat([d.update(payload.subarray(16)), d.final()]);
  const padLen = block.readUInt8(block.length - 1);
  if (padLen > 15) throw new DecodeError('ERR_IPMI_CONF', `AES-CBC-128 pad length ${padLen}`);
  return block.subarray(0, block.length - 1 - padLen);
}
