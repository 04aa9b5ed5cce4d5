/**
 * The lab side of a qemu test: a plain node:http server on 127.0.0.1 (port 0) that the guests reach
 * through user networking as 10.0.2.2. It serves the iPXE boot script, the kernel, ramdisk and deploy
 * image, and records every phone-home.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GUEST_PROTOCOL } from '../../vm-fleet/src/qemu/index.ts';

export interface PhoneHome {
  readonly at: number;
  readonly query: Readonly<Record<string, string>>;
  /** The request body: the agent ramdisk POSTs its measurements with `event=up`. */
  readonly body: string;
}

export type BootMode = { mode: 'agent' } | { mode: 'deploy' } | { mode: 'local' };

export class LabServer {
  readonly homes: PhoneHome[] = [];
  readonly requests: { at: number; path: string }[] = [];
  boot: BootMode = { mode: 'agent' };
  #server: Server | undefined;
  #waiters: (() => void)[] = [];
  port = 0;

  /** URL path → file served from disk. */
  files: Readonly<Record<string, string>> = {};

  /** Commands for the in-guest relay, handed out one per poll of `/relay` (e.g. `write URL`, `poweroff`). */
  readonly relay: string[] = [];
  /** Called for every phone-home as it arrives. */
  onHome: ((h: PhoneHome) => void) | undefined;

  /** `guestHost`: the lab's address as guests see it (10.0.2.2 under user networking). */
  constructor(
    private readonly nodeId: string,
    private readonly guestHost = '10.0.2.2',
  ) {}

  /** The lab's base URL as the guest sees it. */
  get guestUrl(): string {
    return `http://${this.guestHost}:${this.port}`;
  }

  async start(listenHost = '127.0.0.1'): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.#handle(req.url ?? '/', res, Buffer.concat(chunks).toString()));
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, listenHost, resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  /** The first phone-home after `since` (ms, Date.now()) that matches `pred`. */
  async waitHome(
    pred: (q: Readonly<Record<string, string>>) => boolean,
    since: number,
    timeoutMs: number,
  ): Promise<PhoneHome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.homes.find((h) => h.at >= since && pred(h.query));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline)
        throw new Error(`no matching phone-home within ${timeoutMs} ms: ${JSON.stringify(this.homes)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  }

  script(): string {
    if (this.boot.mode === 'local') return '#!ipxe\nexit\n';
    const deploy = this.boot.mode === 'deploy' ? ` bmlab.deploy=${this.guestUrl}/disk.img` : '';
    return [
      '#!ipxe',
      // initrd= names the image for the kernel's EFI stub (UEFI iPXE); BIOS boots ignore it.
      `kernel ${this.guestUrl}/vmlinuz initrd=initrd.gz console=ttyS0 no_timer_check bmlab.url=${this.guestUrl} bmlab.id=${this.nodeId}${deploy}`,
      `initrd ${this.guestUrl}/initrd.gz`,
      'boot',
      '',
    ].join('\n');
  }

  async #handle(url: string, res: import('node:http').ServerResponse, body: string): Promise<void> {
    const u = new URL(url, 'http://lab');
    this.requests.push({ at: Date.now(), path: u.pathname });
    if (u.pathname === '/boot.ipxe') {
      res.end(this.script());
      return;
    }
    if (u.pathname === GUEST_PROTOCOL.relay) {
      const cmd = this.relay.shift();
      res.statusCode = cmd === undefined ? 204 : 200;
      res.end(cmd === undefined ? undefined : `${cmd}\n`);
      return;
    }
    if (u.pathname === GUEST_PROTOCOL.phoneHome) {
      const home = { at: Date.now(), query: Object.fromEntries(u.searchParams), body };
      this.homes.push(home);
      this.onHome?.(home);
      for (const w of this.#waiters.splice(0)) w();
      res.end('ok\n');
      return;
    }
    const file = this.files[u.pathname];
    if (file === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-length', (await stat(file)).size);
    createReadStream(file).pipe(res);
  }
}
