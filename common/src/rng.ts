import { randomFillSync } from 'node:crypto';

/**
 * Randomness comes in through this interface so that session IDs, console nonces and IVs can be
 * replayed byte for byte in tests (a captured conversation is only reproducible with its random numbers).
 */
export interface Rng {
  bytes(n: number): Buffer;
  /** Writes `n` bytes into `target` at `offset`: the same bytes `bytes(n)` would have returned. */
  fill(target: Uint8Array, offset: number, n: number): void;
}

/**
 * Cryptographically strong bytes, drawn from a pooled buffer: one getrandom() call per 4 KiB
 * instead of one per IV (a BMC needs 16 fresh bytes for every encrypted answer).
 */
const POOL = 4096;
const pool = Buffer.allocUnsafe(POOL);
let poolAt = POOL;
export const cryptoRng: Rng = {
  bytes(n) {
    const out = Buffer.allocUnsafe(n);
    cryptoRng.fill(out, 0, n);
    return out;
  },
  fill(target, offset, n) {
    if (n > POOL) {
      randomFillSync(target, offset, n);
      return;
    }
    if (poolAt + n > POOL) {
      randomFillSync(pool);
      poolAt = 0;
    }
    // A byte loop: Buffer.copy's argument checks cost more than copying an IV.
    for (let i = 0; i < n; i++) target[offset + i] = pool[poolAt + i] as number;
    poolAt += n;
  },
};

/** Returns the given buffers in order, then falls back to a deterministic counter pattern. */
export function scriptedRng(chunks: readonly Buffer[] = []): Rng {
  const queue = [...chunks];
  let counter = 0;
  return {
    fill(target, offset, n) {
      target.set(this.bytes(n), offset);
    },
    bytes(n) {
      const next = queue.shift();
      if (next !== undefined) {
        if (next.length !== n)
          throw new RangeError(`scripted rng: wanted ${n} bytes, next chunk has ${next.length}`);
        return Buffer.from(next);
      }
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = (counter++ * 37 + 11) & 0xff;
      return out;
    },
  };
}

/** A small seeded PRNG (mulberry32) for simulations that must be deterministic with a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
