/**
 * What a machine's serial console keeps and hands out, the same for the sim and the QEMU backend:
 * its output as text (bounded: old text is dropped past `maxText`, while `offset` keeps counting,
 * so a caller can wait for what comes after "now"), text listeners, and byte streams for
 * Serial-over-LAN whose writes are keystrokes. Each backend decides what output and input are.
 */
import { Duplex } from 'node:stream';

export abstract class ConsoleText {
  #text = '';
  #dropped = 0;
  readonly #listeners = new Set<(text: string) => void>();
  readonly #streams = new Set<Duplex>();

  constructor(
    private readonly maxText: number,
    /** Names the console in a `waitFor` timeout. */
    private readonly label: string,
  ) {}

  /** Keystrokes to the machine (a stream's writes come here). */
  abstract write(data: string | Buffer): void;

  /** Subscribes to the output from now on, as the backend publishes it. */
  onText(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Total characters kept so far; pass it to `waitFor` to match only what comes after now. */
  get offset(): number {
    return this.#dropped + this.#text.length;
  }

  text(from = 0): string {
    return this.#text.slice(Math.max(0, from - this.#dropped));
  }

  /** Resolves with the match once `re` matches the text after `from`; rejects on timeout. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.text(from).match(re);
        if (m === null) return;
        stop();
        resolve(m);
      };
      const timer = setTimeout(() => {
        stop();
        reject(
          new Error(
            `${this.label}: ${re} not seen within ${timeoutMs} ms; tail: ${this.text(from).slice(-400)}`,
          ),
        );
      }, timeoutMs);
      const off = this.onText(check);
      const stop = (): void => {
        clearTimeout(timer);
        off();
      };
      check();
    });
  }

  /** A byte stream of the console: reads the machine's output, writes are keystrokes. */
  openStream(): Duplex {
    const stream: Duplex = new Duplex({
      read: () => {},
      write: (chunk: Buffer, _enc, cb) => {
        this.write(chunk);
        cb();
      },
      final: (cb) => {
        this.#streams.delete(stream);
        stream.push(null);
        cb();
      },
      destroy: (err, cb) => {
        this.#streams.delete(stream);
        cb(err);
      },
    });
    this.#streams.add(stream);
    return stream;
  }

  /** Adds to the kept text (what `text` and `waitFor` match). */
  protected keep(text: string): void {
    this.#text += text;
    if (this.#text.length > this.maxText) {
      const cut = this.#text.length - this.maxText;
      this.#text = this.#text.slice(cut);
      this.#dropped += cut;
    }
  }

  /** Hands output to the open streams (bytes) and the text listeners; a throwing listener is ignored. */
  protected publish(bytes: Buffer, text: string): void {
    for (const s of this.#streams) s.push(bytes);
    for (const l of this.#listeners) {
      try {
        l(text);
      } catch {
        // a broken observer must not stop the machine
      }
    }
  }
}
