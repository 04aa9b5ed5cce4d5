/**
 * The sim machine's serial console: text lines out (firmware, iPXE, kernel and OS messages), and
 * keystrokes in, echoed back as a terminal line discipline would while the machine is on (typed
 * at a powered-off server, they are lost). Implements the Machine interface's `SerialConsole`
 * (`onOutput`, `write`) for Serial-over-LAN, plus the QEMU backend's text helpers (`onText`, `text`,
 * `offset`, `waitFor`, `openStream`). Bounded: old text is dropped past MAX_TEXT.
 */
import { ConsoleText } from '../console-text.ts';

const MAX_TEXT = 64 * 1024;

export class SimConsole extends ConsoleText {
  #input = '';
  readonly #byteListeners = new Set<(data: Buffer) => void>();
  #powered = false;
  /** Receives each completed input line (the running OS may react to it). */
  onInputLine: ((line: string) => void) | undefined;

  constructor() {
    super(MAX_TEXT, 'console');
  }

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

  lines(from = 0): string[] {
    return this.text(from)
      .split('\r\n')
      .filter((l, i, a) => i < a.length - 1 || l !== '');
  }

  #emit(s: string): void {
    this.keep(s);
    const bytes = Buffer.from(s, 'latin1');
    for (const l of this.#byteListeners) {
      try {
        l(bytes);
      } catch {
        // a broken observer must not stop the machine
      }
    }
    this.publish(bytes, s);
  }
}
