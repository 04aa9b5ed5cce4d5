/**
 * Append-only byte builder. Encoders write through it so that lengths are computed, not guessed.
 */
export class Writer {
  #buf: Buffer;
  #len = 0;
  constructor(capacity = 64) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }
  get length(): number {
    return this.#len;
  }
  #grow(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }
  u8(v: number): this {
    this.#grow(1);
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }
  u16le(v: number): this {
    this.#grow(2);
    this.#buf.writeUInt16LE(v & 0xffff, this.#len);
    this.#len += 2;
    return this;
  }
  u32le(v: number): this {
    this.#grow(4);
    this.#buf.writeUInt32LE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }
  u32be(v: number): this {
    this.#grow(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#grow(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }
  fill(v: number, n: number): this {
    this.#grow(n);
    this.#buf.fill(v, this.#len, this.#len + n);
    this.#len += n;
    return this;
  }
  /** What was written (a view: the writer must not be used afterwards). */
  finish(): Buffer {
    // A writer sized exactly (the encoders' encodedLength*) hands over its buffer as it is.
    return this.#len === this.#buf.length ? this.#buf : this.#buf.subarray(0, this.#len);
  }

  /** A view of what was written from `start` on, valid until the next write. */
  view(start: number): Buffer {
    return this.#buf.subarray(start, this.#len);
  }

  /** The byte at `i` of what was written so far (for checksums over a written range). */
  at(i: number): number {
    return this.#buf[i] as number;
  }
}
