/**
 * A machine's serial console. QEMU writes every byte to the per-node log file itself (chardev
 * `logfile=`); this class carries the live stream: it outlives power cycles, so a Serial-over-LAN
 * session opened while the machine is off sees the next boot, and keyboard input reaches whichever
 * QEMU process is running.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** Strips terminal control sequences (SeaBIOS/iPXE/ash emit CSI codes) so lines match plain text. */
export function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and CSI are what is being removed
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1bc|\r/g, '');
}

const MAX_TEXT = 256 * 1024;

export class SerialConsole {
  #socket: Socket | undefined;
  /** Console text (control sequences stripped) since the machine was created, capped at MAX_TEXT. */
  #text = '';
  #dropped = 0;
  readonly #streams = new Set<Duplex>();
  readonly #listeners = new Set<(text: string) => void>();

  /** Attaches the socket of a freshly started QEMU. */
  attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const s of this.#streams) s.push(chunk);
      const raw = chunk.toString('latin1');
      const text = stripAnsi(raw);
      this.#text += text;
      if (this.#text.length > MAX_TEXT) {
        const cut = this.#text.length - MAX_TEXT;
        this.#text = this.#text.slice(cut);
        this.#dropped += cut;
      }
      // Listeners get the bytes as the guest sent them (CR LF, colours, cursor moves): a Serial-over-LAN
      // client is a terminal. `text()` and `waitFor` work on the stripped text.
      for (const l of this.#listeners) l(raw);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
    });
  }

  /** Sends keystrokes to the guest; dropped while no QEMU runs, as keys typed at a powered-off server. */
  write(data: string | Buffer): void {
    if (this.#socket !== undefined && !this.#socket.destroyed) this.#socket.write(data);
  }

  /** Subscribes to the guest's output from now on, unaltered (latin1). */
  onText(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Total characters seen; pass it to `waitFor` to match only what comes after now. */
  get offset(): number {
    return this.#dropped + this.#text.length;
  }

  text(from = 0): string {
    return this.#text.slice(Math.max(0, from - this.#dropped));
  }

  /** Resolves with the match once `re` matches the console text after `from`; rejects on timeout. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.text(from).match(re);
        if (m === null) return false;
        stop();
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        stop();
        reject(
          new Error(`serial: ${re} not seen within ${timeoutMs} ms; tail: ${this.text(from).slice(-400)}`),
        );
      }, timeoutMs);
      const off = this.onText(() => void check());
      const stop = (): void => {
        clearTimeout(timer);
        off();
      };
      check();
    });
  }

  /** A byte stream of the console for Serial-over-LAN: reads the guest's output, writes are keystrokes. */
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
}
