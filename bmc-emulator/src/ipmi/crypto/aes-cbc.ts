/**
 * AES-CBC-128 confidentiality (IPMI v2.0 section 13.29, table 13-20), key = first 16 bytes of K2.
 * The encrypted payload is: IV (16) | E(data | pad 01h 02h … | pad length). The spec pads to a
 * whole block itself, so the cipher runs without PKCS#7 padding.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { DecodeError } from '../../../../common/src/index.ts';

export function aesEncrypt(k2: Buffer, iv: Buffer, data: Buffer): Buffer {
  const padLen = (16 - ((data.length + 1) % 16)) % 16;
  const plain = Buffer.alloc(data.length + padLen + 1);
  data.copy(plain);
  for (let i = 0; i < padLen; i++) plain[data.length + i] = i + 1;
  plain[plain.length - 1] = padLen;
  const c = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv).setAutoPadding(false);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

export function aesDecrypt(k2: Buffer, payload: Buffer): Buffer {
  if (payload.length < 32 || payload.length % 16 !== 0) {
    throw new DecodeError(
      'ERR_IPMI_CRYPT',
      `encrypted payload of ${payload.length} bytes is not IV + whole blocks`,
    );
  }
  const d = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), payload.subarray(0, 16)).setAutoPadding(
    false,
  );
  const plain = Buffer.concat([d.update(payload.subarray(16)), d.final()]);
  const padLen = plain[plain.length - 1] as number;
  if (padLen > 15 || padLen + 1 > plain.length)
    throw new DecodeError('ERR_IPMI_CRYPT', `bad confidentiality pad length ${padLen}`);
  return plain.subarray(0, plain.length - 1 - padLen);
}
