/**
 * The only place that touches node:dgram: one UDP socket per virtual BMC, as a real BMC has one
 * LAN address. Fault hooks sit here because they are what the network sees: added latency,
 * replies dropped at a rate, or no answer at all. (A "BMC resetting" window is the BMC's own:
 * see `Bmc.beginReset`.)
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { type LookupOneOptions, lookup } from 'node:dns';
import { isIP } from 'node:net';
import { seededRandom } from '../../../common/src/index.ts';
import type { Bmc } from './bmc.ts';

/** Larger datagrams are no IPMI a client sends (the largest RMCP+ request is a few hundred bytes). */
const MAX_DATAGRAM = 1024;

export interface BmcFaults {
  /** Added to every reply. */
  latencyMs: number;
  /** Probability (0-1) that a reply is lost. */
  dropRate: number;
  /** The BMC hears but never answers. */
  noAnswer: boolean;
}

export const NO_FAULTS: Readonly<BmcFaults> = { latencyMs: 0, dropRate: 0, noAnswer: false };

/**
 * Address resolution for the socket. Every reply goes to the address a datagram came from, an IP
 * literal, yet dgram's default (dns.lookup) hands even a literal back on the next tick: a deferred
 * callback per reply. Literals are passed through at once (the last one without parsing it again:
 * replies mostly go back to the same few consoles); a host name (a bind address given as one) still
 * goes through the resolver.
 */
function literalFirst(
  host: string,
  options: LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  if (host !== lastLiteral.host) {
    const family = isIP(host);
    if (family === 0) {
      lookup(host, options, callback);
      return;
    }
    lastLiteral = { host, family };
  }
  callback(null, host, lastLiteral.family);
}
let lastLiteral = { host: '', family: 0 };

export interface ListenOptions {
  readonly address: string;
  readonly port: number;
  /** Seed for the drop decisions, so a faulty run can be replayed. */
  readonly seed?: number;
}

export class BmcEndpoint {
  readonly faults: BmcFaults = { ...NO_FAULTS };
  readonly #socket: Socket;
  readonly #random: () => number;
  #closed = false;

  private constructor(
    readonly bmc: Bmc,
    socket: Socket,
    seed: number,
  ) {
    this.#socket = socket;
    this.#random = seededRandom(seed);
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    // Serial-over-LAN output is sent unprompted, to the console that holds the payload.
    bmc.attachTransport({
      address: socket.address().address,
      port: socket.address().port,
      send: (packet, to) => {
        if (!this.#closed) socket.send(packet, to.port, to.address);
      },
    });
    // A UDP socket error (e.g. ICMP unreachable reflected on some systems) must not kill the lab.
    socket.on('error', () => {});
  }

  static listen(bmc: Bmc, o: ListenOptions): Promise<BmcEndpoint> {
    const family = o.address.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type: family, reuseAddr: false, lookup: literalFirst });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(o.port, o.address, () => {
        socket.off('error', reject);
        resolve(new BmcEndpoint(bmc, socket, o.seed ?? o.port));
      });
    });
  }

  get address(): { address: string; port: number } {
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  setFaults(f: Partial<BmcFaults>): void {
    Object.assign(this.faults, f);
  }

  /** `from` is dgram's own description of the sender, made per datagram: it serves as the peer. */
  #onMessage(msg: Buffer, from: RemoteInfo): void {
    if (this.#closed || this.faults.noAnswer || msg.length > MAX_DATAGRAM) return;
    const reply = this.bmc.receive(msg, from);
    if (reply instanceof Promise) {
      // Bmc.receive never rejects; the handler guards the process if that ever changes.
      reply.then(
        (r) => this.#reply(r, from.port, from.address),
        () => {},
      );
    } else {
      this.#reply(reply, from.port, from.address);
    }
  }

  #reply(reply: Buffer | undefined, port: number, address: string): void {
    if (reply === undefined || this.#closed) return;
    if (this.faults.dropRate > 0 && this.#random() < this.faults.dropRate) return;
    if (this.faults.latencyMs > 0) setTimeout(() => this.#send(reply, port, address), this.faults.latencyMs);
    else this.#send(reply, port, address);
  }

  #send(reply: Buffer, port: number, address: string): void {
    if (!this.#closed) this.#socket.send(reply, port, address);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
