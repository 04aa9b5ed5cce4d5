/**
 * Cipher suites (IPMI v2.0 table 22-20) and their algorithm numbers (tables 13-17, 13-18, 13-19).
 * Suite 0 (no authentication at all) is the well-known hole: served only when a BMC enables it.
 */
export const AuthAlg = { None: 0x00, HmacSha1: 0x01, HmacMd5: 0x02, HmacSha256: 0x03 } as const;
export const IntegrityAlg = {
  None: 0x00,
  HmacSha1_96: 0x01,
  HmacMd5_128: 0x02,
  Md5_128: 0x03,
  HmacSha256_128: 0x04,
} as const;
export const ConfAlg = { None: 0x00, AesCbc128: 0x01 } as const;

export interface CipherSuite {
  readonly id: number;
  readonly auth: number;
  readonly integrity: number;
  readonly confidentiality: number;
}

export const CIPHER_SUITES: readonly CipherSuite[] = [
  { id: 0, auth: AuthAlg.None, integrity: IntegrityAlg.None, confidentiality: ConfAlg.None },
  { id: 1, auth: AuthAlg.HmacSha1, integrity: IntegrityAlg.None, confidentiality: ConfAlg.None },
  { id: 2, auth: AuthAlg.HmacSha1, integrity: IntegrityAlg.HmacSha1_96, confidentiality: ConfAlg.None },
  { id: 3, auth: AuthAlg.HmacSha1, integrity: IntegrityAlg.HmacSha1_96, confidentiality: ConfAlg.AesCbc128 },
  { id: 15, auth: AuthAlg.HmacSha256, integrity: IntegrityAlg.None, confidentiality: ConfAlg.None },
  { id: 16, auth: AuthAlg.HmacSha256, integrity: IntegrityAlg.HmacSha256_128, confidentiality: ConfAlg.None },
  {
    id: 17,
    auth: AuthAlg.HmacSha256,
    integrity: IntegrityAlg.HmacSha256_128,
    confidentiality: ConfAlg.AesCbc128,
  },
];

export const DEFAULT_CIPHER_SUITES: readonly number[] = [1, 2, 3, 15, 16, 17];

export function findSuite(
  enabled: readonly number[],
  auth: number,
  integrity: number,
  confidentiality: number,
): CipherSuite | undefined {
  return CIPHER_SUITES.find(
    (s) =>
      enabled.includes(s.id) &&
      s.auth === auth &&
      s.integrity === integrity &&
      s.confidentiality === confidentiality,
  );
}

/**
 * Get Channel Cipher Suites record data (table 22-18): per suite C0h, suite ID, then the
 * authentication (00b tag), integrity (01b tag) and confidentiality (10b tag) algorithm bytes.
 */
export function cipherSuiteRecords(enabled: readonly number[]): Buffer {
  const out: number[] = [];
  for (const s of CIPHER_SUITES) {
    if (!enabled.includes(s.id)) continue;
    out.push(0xc0, s.id, s.auth, 0x40 | s.integrity, 0x80 | s.confidentiality);
  }
  return Buffer.from(out);
}
