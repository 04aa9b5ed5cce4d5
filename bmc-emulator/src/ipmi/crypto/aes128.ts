/**
 * The AES-128 block cipher (FIPS-197) in table form, for AES-CBC-128 confidentiality (aes-cbc.ts).
 *
 * Why not node:crypto: every IPMI packet is one or two blocks, and a call into an OpenSSL context
 * costs more than the cipher itself at that size; and each context is a native object the garbage
 * collector only frees in a full collection, so a BMC that sets up thousands of sessions holds
 * thousands of dead contexts between two of them. Here a key schedule is two Uint32Arrays.
 *
 * Table lookups indexed by secret data are not constant-time; that is acceptable for a lab BMC,
 * whose keys protect test credentials on a test network, and is the same trade pyghmi makes by
 * using whichever AES its Python build links.
 *
 * The tables are computed at load (FIPS-197 §5.1.1 S-box from the inverse in GF(2^8), §5.1.3
 * MixColumns coefficients), in the layout of the reference "rijndael-alg-fst" implementation:
 * state columns as big-endian words, one table per byte position.
 */

const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);
const TE = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const;
const TD = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const;
const [TE0, TE1, TE2, TE3] = TE;
const [TD0, TD1, TD2, TD3] = TD;

{
  // Powers and logarithms of the generator 03h in GF(2^8) mod x^8 + x^4 + x^3 + x + 1 (11Bh).
  const exp = new Uint8Array(255);
  const log = new Uint8Array(256);
  for (let i = 0, v = 1; i < 255; i++) {
    exp[i] = v;
    log[v] = i;
    v ^= ((v << 1) ^ (v & 0x80 ? 0x11b : 0)) & 0xff;
  }
  const mul = (a: number, b: number): number =>
    a === 0 || b === 0 ? 0 : (exp[((log[a] as number) + (log[b] as number)) % 255] as number);
  const rotl8 = (b: number, n: number): number => ((b << n) | (b >>> (8 - n))) & 0xff;
  for (let a = 0; a < 256; a++) {
    const inv = a === 0 ? 0 : (exp[(255 - (log[a] as number)) % 255] as number);
    const s = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63;
    SBOX[a] = s;
    INV_SBOX[s] = a;
  }
  for (let a = 0; a < 256; a++) {
    const s = SBOX[a] as number;
    const d = INV_SBOX[a] as number;
    // Column (2s, s, s, 3s) of MixColumns, and (14d, 9d, 13d, 11d) of InvMixColumns.
    const e = ((mul(s, 2) << 24) | (s << 16) | (s << 8) | mul(s, 3)) >>> 0;
    const f = ((mul(d, 14) << 24) | (mul(d, 9) << 16) | (mul(d, 13) << 8) | mul(d, 11)) >>> 0;
    for (let t = 0; t < 4; t++) {
      (TE[t] as Uint32Array)[a] = ((e >>> (8 * t)) | (e << (32 - 8 * t))) >>> 0;
      (TD[t] as Uint32Array)[a] = ((f >>> (8 * t)) | (f << (32 - 8 * t))) >>> 0;
    }
  }
}

const ROUNDS = 10;
const RCON = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

const subWord = (w: number): number =>
  (((SBOX[w >>> 24] as number) << 24) |
    ((SBOX[(w >>> 16) & 0xff] as number) << 16) |
    ((SBOX[(w >>> 8) & 0xff] as number) << 8) |
    (SBOX[w & 0xff] as number)) >>>
  0;

const word = (b: Uint8Array, o: number): number =>
  (((b[o] as number) << 24) |
    ((b[o + 1] as number) << 16) |
    ((b[o + 2] as number) << 8) |
    (b[o + 3] as number)) >>>
  0;

function putWord(b: Uint8Array, o: number, w: number): void {
  b[o] = w >>> 24;
  b[o + 1] = w >>> 16;
  b[o + 2] = w >>> 8;
  b[o + 3] = w;
}

/** An AES-128 key schedule: encrypts and decrypts single 16-byte blocks, in place. */
export class Aes128 {
  /** Encryption round keys (FIPS-197 §5.2), 44 words. */
  readonly #ek = new Uint32Array(4 * (ROUNDS + 1));
  /** Round keys of the equivalent inverse cipher (§5.3.5): reversed, InvMixColumns on the inner ones. */
  readonly #dk = new Uint32Array(4 * (ROUNDS + 1));

  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError(`AES-128 needs a 16-byte key, not ${key.length}`);
    const ek = this.#ek;
    for (let i = 0; i < 4; i++) ek[i] = word(key, 4 * i);
    for (let i = 4; i < ek.length; i++) {
      let t = ek[i - 1] as number;
      if (i % 4 === 0)
        t = (subWord(((t << 8) | (t >>> 24)) >>> 0) ^ ((RCON[i / 4 - 1] as number) << 24)) >>> 0;
      ek[i] = ((ek[i - 4] as number) ^ t) >>> 0;
    }
    const dk = this.#dk;
    for (let r = 0; r <= ROUNDS; r++) {
      for (let c = 0; c < 4; c++) {
        const w = ek[4 * (ROUNDS - r) + c] as number;
        dk[4 * r + c] =
          r === 0 || r === ROUNDS
            ? w
            : ((TD0[SBOX[w >>> 24] as number] as number) ^
                (TD1[SBOX[(w >>> 16) & 0xff] as number] as number) ^
                (TD2[SBOX[(w >>> 8) & 0xff] as number] as number) ^
                (TD3[SBOX[w & 0xff] as number] as number)) >>>
              0;
      }
    }
  }

  /** Encrypts the block at `b[o..o+16)` in place. */
  encryptBlock(b: Uint8Array, o: number): void {
    const k = this.#ek;
    let s0 = word(b, o) ^ (k[0] as number);
    let s1 = word(b, o + 4) ^ (k[1] as number);
    let s2 = word(b, o + 8) ^ (k[2] as number);
    let s3 = word(b, o + 12) ^ (k[3] as number);
    for (let r = 1; r < ROUNDS; r++) {
      const i = 4 * r;
      const t0 =
        (TE0[s0 >>> 24] as number) ^
        (TE1[(s1 >>> 16) & 0xff] as number) ^
        (TE2[(s2 >>> 8) & 0xff] as number) ^
        (TE3[s3 & 0xff] as number) ^
        (k[i] as number);
      const t1 =
        (TE0[s1 >>> 24] as number) ^
        (TE1[(s2 >>> 16) & 0xff] as number) ^
        (TE2[(s3 >>> 8) & 0xff] as number) ^
        (TE3[s0 & 0xff] as number) ^
        (k[i + 1] as number);
      const t2 =
        (TE0[s2 >>> 24] as number) ^
        (TE1[(s3 >>> 16) & 0xff] as number) ^
        (TE2[(s0 >>> 8) & 0xff] as number) ^
        (TE3[s1 & 0xff] as number) ^
        (k[i + 2] as number);
      const t3 =
        (TE0[s3 >>> 24] as number) ^
        (TE1[(s0 >>> 16) & 0xff] as number) ^
        (TE2[(s1 >>> 8) & 0xff] as number) ^
        (TE3[s2 & 0xff] as number) ^
        (k[i + 3] as number);
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    // Last round: SubBytes and ShiftRows, no MixColumns.
    const i = 4 * ROUNDS;
    putWord(b, o, lastRound(SBOX, s0, s1, s2, s3) ^ (k[i] as number));
    putWord(b, o + 4, lastRound(SBOX, s1, s2, s3, s0) ^ (k[i + 1] as number));
    putWord(b, o + 8, lastRound(SBOX, s2, s3, s0, s1) ^ (k[i + 2] as number));
    putWord(b, o + 12, lastRound(SBOX, s3, s0, s1, s2) ^ (k[i + 3] as number));
  }

  /** Decrypts the block at `b[o..o+16)` in place. */
  decryptBlock(b: Uint8Array, o: number): void {
    const k = this.#dk;
    let s0 = word(b, o) ^ (k[0] as number);
    let s1 = word(b, o + 4) ^ (k[1] as number);
    let s2 = word(b, o + 8) ^ (k[2] as number);
    let s3 = word(b, o + 12) ^ (k[3] as number);
    for (let r = 1; r < ROUNDS; r++) {
      const i = 4 * r;
      const t0 =
        (TD0[s0 >>> 24] as number) ^
        (TD1[(s3 >>> 16) & 0xff] as number) ^
        (TD2[(s2 >>> 8) & 0xff] as number) ^
        (TD3[s1 & 0xff] as number) ^
        (k[i] as number);
      const t1 =
        (TD0[s1 >>> 24] as number) ^
        (TD1[(s0 >>> 16) & 0xff] as number) ^
        (TD2[(s3 >>> 8) & 0xff] as number) ^
        (TD3[s2 & 0xff] as number) ^
        (k[i + 1] as number);
      const t2 =
        (TD0[s2 >>> 24] as number) ^
        (TD1[(s1 >>> 16) & 0xff] as number) ^
        (TD2[(s0 >>> 8) & 0xff] as number) ^
        (TD3[s3 & 0xff] as number) ^
        (k[i + 2] as number);
      const t3 =
        (TD0[s3 >>> 24] as number) ^
        (TD1[(s2 >>> 16) & 0xff] as number) ^
        (TD2[(s1 >>> 8) & 0xff] as number) ^
        (TD3[s0 & 0xff] as number) ^
        (k[i + 3] as number);
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    // Last round: InvShiftRows and InvSubBytes, no InvMixColumns.
    const i = 4 * ROUNDS;
    putWord(b, o, lastRound(INV_SBOX, s0, s3, s2, s1) ^ (k[i] as number));
    putWord(b, o + 4, lastRound(INV_SBOX, s1, s0, s3, s2) ^ (k[i + 1] as number));
    putWord(b, o + 8, lastRound(INV_SBOX, s2, s1, s0, s3) ^ (k[i + 2] as number));
    putWord(b, o + 12, lastRound(INV_SBOX, s3, s2, s1, s0) ^ (k[i + 3] as number));
  }
}

/** One output column of the last round: byte j of the column comes from the j-th given word. */
function lastRound(box: Uint8Array, a: number, b: number, c: number, d: number): number {
  return (
    (((box[a >>> 24] as number) << 24) |
      ((box[(b >>> 16) & 0xff] as number) << 16) |
      ((box[(c >>> 8) & 0xff] as number) << 8) |
      (box[d & 0xff] as number)) >>>
    0
  );
}
