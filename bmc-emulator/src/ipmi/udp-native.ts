/**
 * The virtual BMCs' UDP sockets through bmlab's addon (bmc-emulator/native/udp.c, built by
 * `npm ci`): datagrams arrive in batches, one call into JavaScript per batch, and the replies of a
 * batch, written beside the datagrams, leave with one system call. A build without the addon (no C
 * compiler at install time) uses node:dgram instead (udp-dgram.ts); BMLAB_UDP=dgram chooses it.
 */
import { createRequire } from 'node:module';
import type { DatagramHandler, UdpSocket } from './udp-socket.ts';

interface Addon {
  readonly BATCH: number;
  readonly SLOT: number;
  readonly META: number;
  readonly REPLY: number;
  readonly TOO_LONG: number;
  /** The datagrams of the batch being handled (this thread's, shared by all its sockets). */
  readonly inbox: ArrayBuffer;
  /** Their replies, each at its datagram's offset. */
  readonly outbox: ArrayBuffer;
  /** Per datagram of the batch, META words: length, sender port, family, sender address, reply length. */
  readonly meta: ArrayBuffer;
  open(family: 4 | 6, address: string, port: number, onBatch: (count: number) => void): unknown;
  localPort(handle: unknown): number;
  sendTo(handle: unknown, packet: Buffer, address: string, port: number): void;
  peerAddress(handle: unknown, slot: number): string;
  close(handle: unknown): void;
}

interface Native {
  readonly addon: Addon;
  /** This thread's batch, as views shared by all its sockets. */
  readonly inbox: Buffer;
  readonly outbox: Uint8Array;
  readonly meta: Uint32Array;
}

/** The addon, or why it is not there. */
const loaded: Native | { error: string } = (() => {
  try {
    const require = createRequire(import.meta.url);
    const addon = require('../../../build/Release/bmlab_udp.node') as Addon;
    return {
      addon,
      inbox: Buffer.from(addon.inbox),
      outbox: new Uint8Array(addon.outbox),
      meta: new Uint32Array(addon.meta),
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
})();

/** Undefined when the addon is there; else what went wrong loading it. */
export const nativeUdpUnavailable: string | undefined = 'error' in loaded ? loaded.error : undefined;

/**
 * IPv4 senders' address text, by address: a datagram from a known host costs no new string. Keyed
 * by address, not address and port: every ipmitool run comes from a new port, and an entry per
 * port would live until the cache is cleared — old enough to be promoted, garbage a major
 * collection then has to find (about 4 MB of heap growth over the bench's 20,000 setups).
 */
const ADDRESS_CACHE = 4096;

export class NativeUdpSocket implements UdpSocket {
  readonly kind = 'native';
  readonly port: number;
  readonly #native: Native;
  readonly #handle: unknown;
  readonly #handler: DatagramHandler;
  readonly #addresses = new Map<number, string>();
  #closed = false;

  private constructor(
    native: Native,
    family: 4 | 6,
    readonly address: string,
    port: number,
    handler: DatagramHandler,
  ) {
    this.#native = native;
    const addon = native.addon;
    this.#handler = handler;
    this.#handle = addon.open(family, address, port, (n) => this.#onBatch(n));
    this.port = addon.localPort(this.#handle);
  }

  /** Binds `address` (an IP literal) and `port` (0: any free port); throws as bind(2) fails. */
  static bind(family: 4 | 6, address: string, port: number, handler: DatagramHandler): NativeUdpSocket {
    if ('error' in loaded) throw new Error(`bmlab's UDP addon is not built: ${loaded.error}`);
    return new NativeUdpSocket(loaded, family, address, port, handler);
  }

  #onBatch(count: number): void {
    const { SLOT, META, REPLY, TOO_LONG } = this.#native.addon;
    const { inbox, outbox, meta } = this.#native;
    for (let i = 0; i < count; i++) {
      const m = i * META;
      const length = meta[m]!;
      if (length === TOO_LONG) continue;
      // A copy: the inbox is overwritten by the next batch, and a handler may still hold its packet.
      const packet = Buffer.from(inbox.subarray(i * SLOT, i * SLOT + length));
      try {
        const from = this.#peer(i, m);
        const reply = this.#handler(packet, from);
        if (reply === undefined || this.#closed) continue;
        if (reply.length <= SLOT) {
          // Sent with the batch's other replies once this call returns.
          outbox.set(reply, i * SLOT);
          meta[m + REPLY] = reply.length;
        } else {
          this.sendTo(reply, from.port, from.address);
        }
      } catch {
        // A handler answers or drops; it never throws into the event loop.
      }
    }
  }

  #peer(slot: number, m: number): { address: string; port: number } {
    const meta = this.#native.meta;
    const port = meta[m + 1]!;
    if (meta[m + 2] !== 4) return { address: this.#native.addon.peerAddress(this.#handle, slot), port };
    const key = meta[m + 3]!;
    let address = this.#addresses.get(key);
    if (address === undefined) {
      if (this.#addresses.size >= ADDRESS_CACHE) this.#addresses.clear();
      address = this.#native.addon.peerAddress(this.#handle, slot);
      this.#addresses.set(key, address);
    }
    return { address, port };
  }

  sendTo(packet: Buffer, port: number, address: string): void {
    if (!this.#closed) this.#native.addon.sendTo(this.#handle, packet, address, port);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#native.addon.close(this.#handle);
    }
    return Promise.resolve();
  }
}
