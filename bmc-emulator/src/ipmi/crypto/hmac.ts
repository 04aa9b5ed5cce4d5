/**
 * HMAC (RFC 2104) as two one-shot hashes over precomputed pad blocks. Node's `createHmac` builds
 * an OpenSSL context per call, which costs more than the hashing of a 50-byte IPMI packet; a BMC
 * signs and verifies every packet, so the keyed pads are computed once per key instead.
 */
import { hash } from 'node:crypto';

export type HmacHash = 'sha1' | 'sha256' | 'md5';

const BLOCK = 64; // SHA-1, SHA-256 and MD5 all have 64-byte blocks

export type Mac = (...parts: Buffer[]) => Buffer;

export function hmacWith(alg: HmacHash, key: Buffer): Mac {
  const k = key.length > BLOCK ? hash(alg, key, 'buffer') : key;
  const ipad = Buffer.alloc(BLOCK, 0x36);
  const opad = Buffer.alloc(BLOCK, 0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] = (ipad[i] as number) ^ (k[i] as number);
    opad[i] = (opad[i] as number) ^ (k[i] as number);
  }
  return (...parts) => {
    const inner = hash(alg, Buffer.concat([ipad, ...parts]), 'buffer');
    return hash(alg, Buffer.concat([opad, inner]), 'buffer');
  };
}
