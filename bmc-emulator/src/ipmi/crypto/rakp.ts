/**
 * RAKP key exchange (IPMI v2.0 section 13.31-13.32): the auth codes of RAKP Messages 2-4 and the
 * session keys SIK, K1, K2. All integers appear in their wire form (session IDs little-endian).
 *
 *   RAKP2 auth code = HMAC_Kuid(SIDm | SIDc | Rm | Rc | GUIDc | ROLEm | ULENm | UNAMEm)
 *   RAKP3 auth code = HMAC_Kuid(Rc | SIDm | ROLEm | ULENm | UNAMEm)
 *   SIK             = HMAC_Kg(Rm | Rc | ROLEm | ULENm | UNAMEm)      (Kg = Kuid when no BMC key)
 *   K1, K2          = HMAC_SIK(01h × 20) , HMAC_SIK(02h × 20)
 *   RAKP4 ICV       = HMAC_SIK(Rm | SIDc | GUIDc), truncated to 12 (SHA1) / 16 (SHA-256) bytes
 *
 * Here SIDm is the console's ("remote console") session ID and SIDc the BMC's, as in the spec.
 */
import { AuthAlg } from './cipher-suites.ts';
import { hmacWith } from './hmac.ts';

export type RakpHash = 'sha1' | 'sha256';

export function rakpHash(authAlg: number): RakpHash | undefined {
  if (authAlg === AuthAlg.HmacSha1) return 'sha1';
  if (authAlg === AuthAlg.HmacSha256) return 'sha256';
  return undefined;
}

/** RAKP4's integrity check value is truncated per the authentication algorithm (13.28.4 / 13.32). */
export const icvLength = (h: RakpHash): number => (h === 'sha1' ? 12 : 16);

const hmac = (h: RakpHash, key: Buffer, ...parts: Buffer[]): Buffer => hmacWith(h, key)(...parts);

const u32le = (v: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

export interface RakpContext {
  readonly hash: RakpHash;
  readonly consoleSessionId: number;
  readonly bmcSessionId: number;
  readonly consoleRandom: Buffer;
  readonly bmcRandom: Buffer;
  readonly bmcGuid: Buffer;
  /** The whole RAKP1 role byte, including the name-only lookup bit. */
  readonly role: number;
  readonly username: Buffer;
}

const nameBlock = (c: RakpContext): Buffer =>
  Buffer.concat([Buffer.from([c.role, c.username.length]), c.username]);

export function rakp2AuthCode(kuid: Buffer, c: RakpContext): Buffer {
  return hmac(
    c.hash,
    kuid,
    u32le(c.consoleSessionId),
    u32le(c.bmcSessionId),
    c.consoleRandom,
    c.bmcRandom,
    c.bmcGuid,
    nameBlock(c),
  );
}

export function rakp3AuthCode(kuid: Buffer, c: RakpContext): Buffer {
  return hmac(c.hash, kuid, c.bmcRandom, u32le(c.consoleSessionId), nameBlock(c));
}

export function sessionIntegrityKey(kg: Buffer, c: RakpContext): Buffer {
  return hmac(c.hash, kg, c.consoleRandom, c.bmcRandom, nameBlock(c));
}

/**
 * The constants are 20 bytes for every hash (section 13.32 defines Const 1/2 as 20 bytes);
 * ipmitool and the BMCs it talks to keep 20 bytes for RAKP-HMAC-SHA256 too, so K1/K2 of cipher
 * suite 17 are HMAC-SHA256(SIK, 01h × 20).
 */
export function deriveKey(hash: RakpHash, sik: Buffer, n: 1 | 2): Buffer {
  return hmac(hash, sik, Buffer.alloc(20, n));
}

export function rakp4Icv(sik: Buffer, c: RakpContext): Buffer {
  return hmac(c.hash, sik, c.consoleRandom, u32le(c.bmcSessionId), c.bmcGuid).subarray(0, icvLength(c.hash));
}

/** A user's key Kuid / the BMC key Kg: the password as bytes, zero-padded to 20 (section 13.31). */
export function keyFromPassword(password: Buffer): Buffer {
  const k = Buffer.alloc(Math.max(20, password.length));
  password.copy(k);
  return k;
}
