// Latency summaries for the load generator. Samples are nanoseconds; percentiles use the
// nearest-rank method (the p-th percentile is the smallest sample with at least p% at or below it),
// so a reported p99 is always a latency that was really observed.

/** Grows in chunks so recording a sample never copies the whole history. */
export class Samples {
  private chunks: Float64Array[] = [];
  private current = new Float64Array(16_384);
  private used = 0;

  push(ns: number): void {
    if (this.used === this.current.length) {
      this.chunks.push(this.current);
      this.current = new Float64Array(this.current.length * 2);
      this.used = 0;
    }
    this.current[this.used++] = ns;
  }

  get length(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0) + this.used;
  }

  toArray(): Float64Array {
    const out = new Float64Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    out.set(this.current.subarray(0, this.used), at);
    return out;
  }
}

export function mergeSamples(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Nearest-rank percentile of unsorted samples (sorts a copy); NaN when there are none. */
export function percentile(samples: Float64Array, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export function summarize(samples: Float64Array): LatencySummary {
  if (samples.length === 0) return { count: 0, p50Us: Number.NaN, p99Us: Number.NaN, maxUs: Number.NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]! / 1000;
  return { count: sorted.length, p50Us: at(50), p99Us: at(99), maxUs: sorted[sorted.length - 1]! / 1000 };
}
