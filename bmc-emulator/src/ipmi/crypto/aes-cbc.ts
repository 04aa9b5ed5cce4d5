/**
 * AES-CBC-128 confidentiality (IPMI v2.0 section 13.29, table 13-20), key = first 16 bytes of K2.
 * The encrypted payload is: IV (16) | E(data | pad 01h 02h … | pad length). The spec pads to a
 * whole block itself, so no PKCS#7 padding is used.
 *
 * A session keeps one AES-128 key schedule (aes128.ts) for its life and chains the blocks itself,
 * in place in the output buffer.
 */
import { DecodeError, type Rng } from '../../../../common/src/index.ts';
import { Aes128 } from './aes128.ts';

const BLOCK = 16;

export class AesCbc128 {
  readonly #aes: Aes128;

  constructor(k2: Buffer) {
    this.#aes = new Aes128(k2.subarray(0, BLOCK));
  }

  /** IV (fresh from `rng`, as section 13.29 asks for every packet) and the encrypted, padded data. */
  encrypt(rng: Rng, data: Buffer): Buffer {
    const padLen = (BLOCK - ((data.length + 1) % BLOCK)) % BLOCK;
    const length = data.length + padLen + 1;
    // IV, then the padded plaintext, each block replaced by its ciphertext in place.
    const out = Buffer.allocUnsafe(BLOCK + length);
    rng.fill(out, 0, BLOCK);
    // TypedArray set and byte loops, not Buffer.copy: its argument checks cost more than these few bytes.
    out.set(data, BLOCK);
    for (let i = 0; i < padLen; i++) out[BLOCK + data.length + i] = i + 1;
    out[BLOCK + length - 1] = padLen;
    for (let off = BLOCK; off < BLOCK + length; off += BLOCK) {
      // C(i) = E(P(i) xor C(i-1)); C(i-1), the IV first, is the block just before.
      for (let i = off; i < off + BLOCK; i++) out[i] = (out[i] as number) ^ (out[i - BLOCK] as number);
      this.#aes.encryptBlock(out, off);
    }
    return out;
  }

  decrypt(payload: Buffer): Buffer {
    if (payload.length < 2 * BLOCK || payload.length % BLOCK !== 0) {
      throw new DecodeError(
        'ERR_IPMI_CRYPT',
        `encrypted payload of ${payload.length} bytes is not IV + whole blocks`,
      );
    }
    // P(i) = D(C(i)) xor C(i-1), the IV standing in for C(0): in place over a copy of the blocks.
    const plain = Buffer.allocUnsafe(payload.length - BLOCK);
    for (let i = 0; i < plain.length; i++) plain[i] = payload[BLOCK + i] as number;
    for (let off = 0; off < plain.length; off += BLOCK) {
      this.#aes.decryptBlock(plain, off);
      for (let i = off; i < off + BLOCK; i++) plain[i] = (plain[i] as number) ^ (payload[i] as number);
    }
    const padLen = plain[plain.length - 1] as number;
    if (padLen >= BLOCK) throw new DecodeError('ERR_IPMI_CRYPT', `bad confidentiality pad length ${padLen}`);
    return plain.subarray(0, plain.length - 1 - padLen);
  }
}

/** One-off helper (tests, captures): a fresh context per call. */
export const aesDecrypt = (k2: Buffer, payload: Buffer): Buffer => new AesCbc128(k2).decrypt(payload);
