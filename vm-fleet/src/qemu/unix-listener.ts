/**
 * One-connection unix socket listeners for QEMU's client chardevs. The lab listens before QEMU starts
 * (qemu python `machine.py` does the same for QMP), so there is no connect-retry loop and nothing QEMU
 * writes at startup is lost.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { BmlabError } from '../../../common/src/index.ts';
import type { QmpTransport } from './qmp/client.ts';

export class UnixListener {
  readonly #server: Server;
  readonly #accepted: Promise<Socket>;

  private constructor(
    readonly path: string,
    server: Server,
  ) {
    this.#server = server;
    this.#accepted = new Promise((resolve) => server.once('connection', resolve));
  }

  static async listen(path: string): Promise<UnixListener> {
    await rm(path, { force: true });
    const server = createServer();
    const l = new UnixListener(path, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return l;
  }

  /** The first connection; rejects when `giveUp` settles first (e.g. the process exited). */
  async accept(timeoutMs: number, giveUp?: Promise<unknown>): Promise<Socket> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new BmlabError('ERR_QEMU_CONNECT', `no connection on ${this.path} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const gone =
      giveUp?.then(() => {
        throw new BmlabError('ERR_QEMU_CONNECT', `QEMU exited before connecting to ${this.path}`);
      }) ?? new Promise<never>(() => {});
    gone.catch(() => {}); // settles after the race is decided too: not an unhandled rejection
    try {
      return await Promise.race([this.#accepted, timeout, gone]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops listening and removes the socket file. An accepted socket stays open (net.Server's close
   * callback would wait for it, so it is not awaited).
   */
  async close(): Promise<void> {
    this.#server.close();
    await rm(this.path, { force: true });
  }
}

export function socketTransport(sock: Socket): QmpTransport {
  sock.setEncoding('utf8');
  return {
    write: (data) => {
      if (!sock.destroyed) sock.write(data);
    },
    onData: (listener) => sock.on('data', (c: string) => listener(c)),
    onClose: (listener) => {
      let err: Error | undefined;
      sock.on('error', (e) => {
        err = e;
      });
      sock.on('close', () => listener(err));
    },
    close: () => sock.end(),
  };
}
