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
  // Scratch buffers keyed pads already in place: one copy of the message per call, no concat.
  let scratch = Buffer.alloc(BLOCK + 256);
  ipad.copy(scratch);
  const outer = Buffer.alloc(BLOCK + 64);
  opad.copy(outer);
  return (...parts) => {
    let len = BLOCK;
    for (const p of parts) len += p.length;
    if (len > scratch.length) {
      scratch = Buffer.alloc(len * 2);
      ipad.copy(scratch);
    }
    let at = BLOCK;
    for (const p of parts) at += p.copy(scratch, at);
    const inner = hash(alg, scratch.subarray(0, len), 'buffer');
    inner.copy(outer, BLOCK);
    return hash(alg, outer.subarray(0, BLOCK + inner.length), 'buffer');
  };
}
