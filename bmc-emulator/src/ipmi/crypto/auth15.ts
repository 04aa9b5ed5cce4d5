/**
 * IPMI v1.5 per-message authentication codes (IPMI v2.0 section 22.17.1, table 22-18 notes):
 *   straight password: the 16-byte password itself
 *   MD5: MD5(password | session ID | IPMI message | session seq | password), all 16 / 4 / n / 4 bytes
 * (MD2 has the same shape but Node's OpenSSL has no MD2; it is not offered.)
 */
import { createHash } from 'node:crypto';
import { AuthType } from '../wire/session15.ts';

export function password16(password: Buffer): Buffer {
  const p = Buffer.alloc(16);
  password.copy(p, 0, 0, 16);
  return p;
}

export function authCode15(
  authType: number,
  password: Buffer,
  sessionId: number,
  seq: number,
  message: Buffer,
): Buffer | undefined {
  const p = password16(password);
  if (authType === AuthType.Password) return p;
  if (authType === AuthType.Md5) {
    const ids = Buffer.alloc(4);
    ids.writeUInt32LE(sessionId >>> 0);
    const sq = Buffer.alloc(4);
    sq.writeUInt32LE(seq >>> 0);
    return createHash('md5').update(p).update(ids).update(message).update(sq).update(p).digest();
  }
  return undefined;
}
