import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../common/src/index.ts';
import { HmacSha1 } from './hmac-sha1.ts';

describe('HmacSha1 (precomputed pads)', () => {
  const random = seededRandom(7);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

  it('equals node:crypto HMAC-SHA1 for every message length across the padding boundaries', () => {
    for (const keyLength of [0, 1, 20, 63, 64]) {
      const key = bytes(keyLength);
      const hmac = new HmacSha1(key);
      for (let n = 0; n <= 200; n++) {
        const m = bytes(n);
        expect(hmac.mac(m).toString('hex'), `key ${keyLength}, message ${n}`).toBe(
          createHmac('sha1', key).update(m).digest('hex'),
        );
      }
    }
  });

  it('truncates to the AuthCode length (HMAC-SHA1-96: the first 12 bytes)', () => {
    const key = bytes(20);
    const m = bytes(48);
    expect(new HmacSha1(key).mac(m, 12)).toEqual(createHmac('sha1', key).update(m).digest().subarray(0, 12));
  });

  it('checks an AuthCode where it lies: the right one passes, any flipped bit or a short packet fails', () => {
    const hmac = new HmacSha1(bytes(20));
    for (const len of [0, 20, 55, 56, 64, 100]) {
      const packet = Buffer.concat([bytes(len), Buffer.alloc(12)]);
      hmac.mac(packet, 12, len).copy(packet, len);
      expect(hmac.check(packet, len, 12), `length ${len}`).toBe(true);
      for (let bit = 0; bit < 96; bit++) {
        packet[len + (bit >> 3)] = (packet[len + (bit >> 3)] as number) ^ (1 << (bit & 7));
        expect(hmac.check(packet, len, 12), `length ${len}, bit ${bit}`).toBe(false);
        packet[len + (bit >> 3)] = (packet[len + (bit >> 3)] as number) ^ (1 << (bit & 7));
      }
      expect(hmac.check(packet.subarray(0, len + 11), len, 12)).toBe(false);
    }
  });

  it('RFC 2202 test case 2', () => {
    const mac = new HmacSha1(Buffer.from('Jefe')).mac(Buffer.from('what do ya want for nothing?'));
    expect(mac.toString('hex')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  });
});
