/**
 * Integrity algorithms for RMCP+ packets (IPMI v2.0 section 13.28.4, table 13-18), keyed with K1:
 * HMAC-SHA1-96 (12-byte AuthCode) and HMAC-SHA256-128 (16-byte AuthCode).
 */
import type { IntegrityCodec } from '../wire/session20.ts';
import { IntegrityAlg } from './cipher-suites.ts';
import { hmacWith } from './hmac.ts';
import { HmacSha1 } from './hmac-sha1.ts';

export function integrityCodec(alg: number, k1: Buffer): IntegrityCodec | undefined {
  if (alg === IntegrityAlg.HmacSha1_96) {
    const hmac = new HmacSha1(k1);
    return { authCodeLength: 12, sign: (d) => hmac.mac(d, 12) };
  }
  if (alg === IntegrityAlg.HmacSha256_128) {
    const mac = hmacWith('sha256', k1);
    return { authCodeLength: 16, sign: (d) => mac(d).subarray(0, 16) };
  }
  return undefined;
}
