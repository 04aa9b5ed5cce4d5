import { DecodeError } from '../../../../common/src/index.ts';

/**
 * Bounds-checked cursor over a datagram (HAP-NodeJS `DataStreamReader.ensureLength`): every read
 * checks the length first and throws a typed DecodeError, so a truncated packet can never index
 * past the end or be read as zeros.
 */
export class Reader {
  #off = 0;
  constructor(readonly buf: Buffer) {}

  get offset(): number {
    return this.#off;
  }
  get remaining(): number {
    return this.buf.length - this.#off;
  }

  #need(n: number, what: string): void {
    if (n < 0 || this.#off + n > this.buf.length) {
      throw new DecodeError(
        'ERR_IPMI_SHORT',
        `${what}: need ${n} bytes at offset ${this.#off}, have ${this.remaining}`,
      );
    }
  }

  u8(what = 'u8'): number {
    this.#need(1, what);
    return this.buf[this.#off++] as number;
  }
  u16le(what = 'u16'): number {
    this.#need(2, what);
    const v = this.buf.readUInt16LE(this.#off);
    this.#off += 2;
    return v;
  }
  u32le(what = 'u32'): number {
    this.#need(4, what);
    const v = this.buf.readUInt32LE(this.#off);
    this.#off += 4;
    return v;
  }
  u32be(what = 'u32'): number {
    this.#need(4, what);
    const v = this.buf.readUInt32BE(this.#off);
    this.#off += 4;
    return v;
  }
  /** A view (no copy) of the next n bytes. */
  bytes(n: number, what = 'bytes'): Buffer {
    this.#need(n, what);
    const v = this.buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return v;
  }
  rest(): Buffer {
    // The whole buffer is its own view: no new object for the common case of a fresh reader.
    const v = this.#off === 0 ? this.buf : this.buf.subarray(this.#off);
    this.#off = this.buf.length;
    return v;
  }
}
