/**
 * A machine's serial console. QEMU writes every byte to the per-node log file itself (chardev
 * `logfile=`); this class carries the live stream: it outlives power cycles, so a Serial-over-LAN
 * session opened while the machine is off sees the next boot, and keyboard input reaches whichever
 * QEMU process is running.
 */
import type { Socket } from 'node:net';
import { ConsoleText } from '../console-text.ts';

/** Strips terminal control sequences (SeaBIOS/iPXE/ash emit CSI codes) so lines match plain text. */
export function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC and CSI are what is being removed
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1bc|\r/g, '');
}

const MAX_TEXT = 256 * 1024;

export class SerialConsole extends ConsoleText {
  #socket: Socket | undefined;

  constructor() {
    // The kept text has control sequences stripped; listeners and streams get the bytes as sent.
    super(MAX_TEXT, 'serial');
  }

  /** Attaches the socket of a freshly started QEMU. */
  attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const raw = chunk.toString('latin1');
      this.keep(stripAnsi(raw));
      // Listeners get the bytes as the guest sent them (CR LF, colours, cursor moves): a Serial-over-LAN
      // client is a terminal. `text()` and `waitFor` work on the stripped text.
      this.publish(chunk, raw);
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
}
