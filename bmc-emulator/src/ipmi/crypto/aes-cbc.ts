/**
 * AES-CBC-128 confidentiality (IPMI v2.0 section 13.29, table 13-20), key = first 16 bytes of K2.
 * The encrypted payload is: IV (16) | E(data | pad 01h 02h … | pad length). The spec pads to a
 * whole block itself, so no PKCS#7 padding is used.
 *
 * A session keeps one AES-ECB encryptor and one decryptor for its life and chains the blocks
 * itself: an ECB context processes each block independently, so it can serve every packet,
 * where a CBC context would have to be created per packet (the IV changes each time) — and
 * creating one costs more than encrypting a 32-byte IPMI message.
 */
import { type Cipher, createCipheriv, createDecipheriv, type Decipher } from 'node:crypto';
import { DecodeError } from '../../../../common/src/index.ts';

const BLOCK = 16;

function xorInto(out: Buffer, a: Buffer, aOff: number, b: Buffer, bOff: number): void {
  for (let i = 0; i < BLOCK; i++) out[i] = (a[aOff + i] as number) ^ (b[bOff + i] as number);
}

export class AesCbc128 {
  readonly #enc: Cipher;
  readonly #dec: Decipher;
  readonly #x = Buffer.alloc(BLOCK);

  constructor(k2: Buffer) {
    const key = k2.subarray(0, BLOCK);
    this.#enc = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    this.#dec = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  }

  encrypt(iv: Buffer, data: Buffer): Buffer {
    const padLen = (BLOCK - ((data.length + 1) % BLOCK)) % BLOCK;
    const length = data.length + padLen + 1;
    // IV, then the padded plaintext, each block replaced by its ciphertext in place.
    const out = Buffer.allocUnsafe(BLOCK + length);
    iv.copy(out, 0, 0, BLOCK);
    data.copy(out, BLOCK);
    for (let i = 0; i < padLen; i++) out[BLOCK + data.length + i] = i + 1;
    out[BLOCK + length - 1] = padLen;
    const x = this.#x;
    for (let off = 0; off < length; off += BLOCK) {
      xorInto(x, out, BLOCK + off, out, off); // previous ciphertext block (the IV first) sits at `off`
      this.#enc.update(x).copy(out, BLOCK + off);
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
    // P(i) = D(C(i)) xor C(i-1), the IV standing in for C(0): in place over the decrypted blocks.
    const plain = this.#dec.update(payload.subarray(BLOCK));
    for (let off = 0; off < plain.length; off++)
      plain[off] = (plain[off] as number) ^ (payload[off] as number);
    const padLen = plain[plain.length - 1] as number;
    if (padLen >= BLOCK) throw new DecodeError('ERR_IPMI_CRYPT', `bad confidentiality pad length ${padLen}`);
    return plain.subarray(0, plain.length - 1 - padLen);
  }
}

/** One-off helpers (tests, captures): a fresh context per call. */
export const aesEncrypt = (k2: Buffer, iv: Buffer, data: Buffer): Buffer =>
  new AesCbc128(k2).encrypt(iv, data);
export const aesDecrypt = (k2: Buffer, payload: Buffer): Buffer => new AesCbc128(k2).decrypt(payload);
