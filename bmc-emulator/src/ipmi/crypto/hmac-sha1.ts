/**
 * HMAC-SHA1 (RFC 2104 over SHA-1, FIPS 180-4 section 6.1) for the per-packet integrity of cipher
 * suites 1-3 (IPMI v2.0 section 13.28.4, HMAC-SHA1-96), with the keyed pads compressed once per key.
 *
 * HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). Both pads fill exactly one 64-byte block, so
 * SHA-1's state after each pad block depends on the key alone: a session computes those two states
 * when its K1 is known, and every packet then costs only the blocks of the message plus one outer
 * block — two compressions for a Get Chassis Status, where a one-shot hash per half (node:crypto)
 * compresses four blocks and allocates two digests.
 */

const BLOCK = 64;
const DIGEST = 20;
const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

/** The message schedule, shared: compressions never interleave (the event loop runs one at a time). */
const W = new Int32Array(80);
/** The last one or two blocks of a message, with SHA-1's padding and length. */
const TAIL = new Uint8Array(2 * BLOCK);

/** Loads the 64-byte block at `b[off]` as the first 16 (big-endian) words of the schedule. */
function load(b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] =
      ((b[j] as number) << 24) |
      ((b[j + 1] as number) << 16) |
      ((b[j + 2] as number) << 8) |
      (b[j + 3] as number);
  }
}

/** One SHA-1 compression (FIPS 180-4 section 6.1.2) of the block loaded in W[0..15] into `h`. */
function compress(h: Int32Array): void {
  for (let i = 16; i < 80; i++) {
    const x = (W[i - 3] as number) ^ (W[i - 8] as number) ^ (W[i - 14] as number) ^ (W[i - 16] as number);
    W[i] = (x << 1) | (x >>> 31);
  }
  let a = h[0] as number;
  let bb = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  // The four rounds of 20 steps (section 6.1.2, step 3), each with its own function and constant.
  for (let i = 0; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + (W[i] as number)) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  for (let i = 20; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + (W[i] as number)) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  for (let i = 40; i < 60; i++) {
    const t =
      (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e + 0x8f1bbcdc + (W[i] as number)) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  for (let i = 60; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0xca62c1d6 + (W[i] as number)) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + bb) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
}

/** Hashes `m[0..len)` into `h`, which already holds the state after `before` bytes (whole blocks). */
function absorb(h: Int32Array, before: number, m: Uint8Array, len: number): void {
  const whole = len - (len % BLOCK);
  for (let off = 0; off < whole; off += BLOCK) {
    load(m, off);
    compress(h);
  }
  // The rest, 80h, zeros, and the message length in bits, big-endian in the last 8 bytes (IPMI
  // packets stay far below 2^32 bits): one block, or two when the rest leaves no room for them.
  const rest = len - whole;
  const end = rest + 9 > BLOCK ? 2 * BLOCK : BLOCK;
  for (let i = 0; i < rest; i++) TAIL[i] = m[whole + i] as number;
  TAIL[rest] = 0x80;
  for (let i = rest + 1; i < end - 4; i++) TAIL[i] = 0;
  const bits = (before + len) * 8;
  TAIL[end - 4] = bits >>> 24;
  TAIL[end - 3] = bits >>> 16;
  TAIL[end - 2] = bits >>> 8;
  TAIL[end - 1] = bits;
  load(TAIL, 0);
  compress(h);
  if (end > BLOCK) {
    load(TAIL, BLOCK);
    compress(h);
  }
}

function padState(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = (block[i] as number) ^ (key[i] as number);
  const h = Int32Array.from(IV);
  load(block, 0);
  compress(h);
  return h;
}

export class HmacSha1 {
  readonly #inner: Int32Array;
  readonly #outer: Int32Array;
  readonly #h = new Int32Array(5);

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError('HMAC-SHA1 keys longer than 64 bytes are hashed first');
    this.#inner = padState(key, 0x36);
    this.#outer = padState(key, 0x5c);
  }

  /** The first `n` bytes (at most 20) of HMAC-SHA1(key, m[0..len)), in a new Buffer. */
  mac(m: Uint8Array, n = DIGEST, len = m.length): Buffer {
    const h = this.#digest(m, len);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = (h[i >> 2] as number) >>> (24 - 8 * (i & 3));
    return out;
  }

  /**
   * Whether the `n` bytes at `m[len]` are the first `n` bytes of HMAC-SHA1(key, m[0..len)): compared
   * where they lie, every byte whatever the first difference, so the time says nothing about the code.
   */
  check(m: Uint8Array, len: number, n: number): boolean {
    if (len + n > m.length || n > DIGEST) return false;
    const h = this.#digest(m, len);
    let diff = 0;
    for (let i = 0; i < n; i++)
      diff |= ((h[i >> 2] as number) >>> (24 - 8 * (i & 3))) ^ (m[len + i] as number);
    return (diff & 0xff) === 0;
  }

  #digest(m: Uint8Array, len: number): Int32Array {
    const h = this.#h;
    h.set(this.#inner);
    absorb(h, BLOCK, m, len);
    // The outer hash's only block: the inner digest (five words), 80h, zeros, and the length of
    // opad block + digest in bits — built as words, straight into the schedule.
    for (let i = 0; i < 5; i++) W[i] = h[i] as number;
    W[5] = 0x80000000 | 0;
    for (let i = 6; i < 15; i++) W[i] = 0;
    W[15] = (BLOCK + DIGEST) * 8;
    h.set(this.#outer);
    compress(h);
    return h;
  }
}
