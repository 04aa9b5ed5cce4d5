/**
 * The sim machine's serial console: text lines out (firmware, iPXE, kernel and OS messages), and
 * keystrokes in, echoed back as a terminal line discipline would while the machine is on (typed
 * at a powered-off server, they are lost). Implements the Machine interface's `SerialConsole`
 * (`onOutput`, `write`) for Serial-over-LAN, plus the QEMU backend's text helpers (`onText`, `text`,
 * `offset`, `waitFor`, `openStream`). Bounded: old text is dropped past MAX_TEXT.
 */
import { Duplex } from 'node:stream';

const MAX_TEXT = 64 * 1024;

export class SimConsole {
  #text = '';
  #dropped = 0;
  #input = '';
  readonly #listeners = new Set<(text: string) => void>();
  readonly #byteListeners = new Set<(data: Buffer) => void>();
  #powered = false;
  readonly #streams = new Set<Duplex>();
  /** Receives each completed input line (the running OS may react to it). */
  onInputLine: ((line: string) => void) | undefined;

  /** Prints one line (CR LF, as on a serial port). */
  println(line: string): void {
    this.#emit(`${line}\r\n`);
  }

  /** Set by the machine: input is only taken (and echoed) while it runs. */
  setPowered(on: boolean): void {
    this.#powered = on;
    if (!on) this.#input = '';
  }

  /** Keystrokes from SOL or a test: echoed, and collected into lines. */
  write(data: string | Buffer): void {
    if (!this.#powered) return;
    const s = typeof data === 'string' ? data : data.toString('latin1');
    this.#emit(s.replace(/\r(?!\n)/g, '\r\n'));
    for (const ch of s) {
      if (ch === '\r' || ch === '\n') {
        if (this.#input !== '' || ch === '\r') this.onInputLine?.(this.#input);
        this.#input = '';
      } else this.#input += ch;
    }
  }

  /** Bytes as they leave the serial port (Serial-over-LAN). */
  onOutput(listener: (data: Buffer) => void): () => void {
    this.#byteListeners.add(listener);
    return () => this.#byteListeners.delete(listener);
  }

  onText(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get offset(): number {
    return this.#dropped + this.#text.length;
  }

  text(from = 0): string {
    return this.#text.slice(Math.max(0, from - this.#dropped));
  }

  lines(from = 0): string[] {
    return this.text(from)
      .split('\r\n')
      .filter((l, i, a) => i < a.length - 1 || l !== '');
  }

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
          new Error(`console: ${re} not seen within ${timeoutMs} ms; tail: ${this.text(from).slice(-300)}`),
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

  #emit(s: string): void {
    this.#text += s;
    if (this.#text.length > MAX_TEXT) {
      const cut = this.#text.length - MAX_TEXT;
      this.#text = this.#text.slice(cut);
      this.#dropped += cut;
    }
    const bytes = Buffer.from(s, 'latin1');
    for (const st of this.#streams) st.push(bytes);
    for (const l of this.#byteListeners) {
      try {
        l(bytes);
      } catch {
        // a broken observer must not stop the machine
      }
    }
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch {
        // a broken observer must not stop the machine
      }
    }
  }
}
