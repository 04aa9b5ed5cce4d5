import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scriptedRng, seededRandom } from '../../../../common/src/index.ts';
import { AesCbc128 } from './aes-cbc.ts';
import { Aes128 } from './aes128.ts';

describe('Aes128 (table form)', () => {
  const random = seededRandom(11);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

  it('FIPS-197 appendix C.1: the AES-128 example vector, both ways', () => {
    const aes = new Aes128(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    const b = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    aes.encryptBlock(b, 0);
    expect(b.toString('hex')).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    aes.decryptBlock(b, 0);
    expect(b.toString('hex')).toBe('00112233445566778899aabbccddeeff');
  });

  it('equals OpenSSL aes-128-ecb on random keys and blocks, at any offset', () => {
    for (let k = 0; k < 50; k++) {
      const key = bytes(16);
      const aes = new Aes128(key);
      const plain = bytes(16 * 8);
      const want = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(plain);
      const buf = Buffer.concat([bytes(3), plain]);
      for (let o = 3; o < buf.length; o += 16) aes.encryptBlock(buf, o);
      expect(buf.subarray(3).toString('hex'), `key ${key.toString('hex')}`).toBe(want.toString('hex'));
      for (let o = 3; o < buf.length; o += 16) aes.decryptBlock(buf, o);
      expect(buf.subarray(3)).toEqual(plain);
    }
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => new Aes128(Buffer.alloc(24))).toThrow('AES-128 needs a 16-byte key, not 24');
  });
});

describe('AesCbc128 (IPMI v2.0 §13.29)', () => {
  const random = seededRandom(12);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

  it('is OpenSSL aes-128-cbc over the data and the IPMI pad, and decrypts back, for every length', () => {
    const k2 = bytes(20);
    const cbc = new AesCbc128(k2);
    for (let n = 0; n <= 70; n++) {
      const iv = bytes(16);
      const data = bytes(n);
      const padLen = (16 - ((n + 1) % 16)) % 16;
      const padded = Buffer.concat([
        data,
        Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1)),
        Buffer.from([padLen]),
      ]);
      const want = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv).setAutoPadding(false).update(padded);
      const out = cbc.encrypt(scriptedRng([iv]), data);
      expect(out.toString('hex'), `length ${n}`).toBe(Buffer.concat([iv, want]).toString('hex'));
      expect(cbc.decrypt(out)).toEqual(data);
    }
  });
});
