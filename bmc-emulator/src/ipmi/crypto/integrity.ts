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
    return { authCodeLength: 12, sign: (d) => hmac.mac(d, 12), check: (p, len) => hmac.check(p, len, 12) };
  }
  if (alg === IntegrityAlg.HmacSha256_128) {
    const mac = hmacWith('sha256', k1);
    return {
      authCodeLength: 16,
      sign: (d) => mac(d).subarray(0, 16),
      check: (p, len) => {
        if (len + 16 > p.length) return false;
        const code = mac(p.subarray(0, len));
        let diff = 0;
        for (let i = 0; i < 16; i++) diff |= (code[i] as number) ^ (p[len + i] as number);
        return diff === 0;
      },
    };
  }
  return undefined;
}
