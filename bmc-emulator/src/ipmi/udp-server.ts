/**
 * A virtual BMC on the network: one UDP socket per BMC, as a real BMC has one LAN address. Fault
 * hooks sit here because they are what the network sees: added latency, replies dropped at a rate,
 * or no answer at all. (A "BMC resetting" window is the BMC's own: see `Bmc.beginReset`.)
 */
import { seededRandom } from '../../../common/src/index.ts';
import type { Bmc, Peer } from './bmc.ts';
import { bindUdp, type UdpKind, type UdpSocket } from './udp-socket.ts';

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

export interface ListenOptions {
  readonly address: string;
  readonly port: number;
  /** Seed for the drop decisions, so a faulty run can be replayed. */
  readonly seed?: number;
  /** The socket implementation; by default bmlab's addon when it is built (see udp-socket.ts). */
  readonly udp?: UdpKind;
}

export class BmcEndpoint {
  readonly faults: BmcFaults = { ...NO_FAULTS };
  #socket!: UdpSocket;
  readonly #random: () => number;
  #closed = false;

  private constructor(
    readonly bmc: Bmc,
    seed: number,
  ) {
    this.#random = seededRandom(seed);
  }

  static async listen(bmc: Bmc, o: ListenOptions): Promise<BmcEndpoint> {
    const endpoint = new BmcEndpoint(bmc, o.seed ?? o.port);
    const socket = await bindUdp(
      o.address,
      o.port,
      (packet, from) => endpoint.#onMessage(packet, from),
      o.udp,
    );
    endpoint.#socket = socket;
    // Serial-over-LAN output is sent unprompted, to the console that holds the payload.
    bmc.attachTransport({
      address: socket.address,
      port: socket.port,
      send: (packet, to) => socket.sendTo(packet, to.port, to.address),
    });
    return endpoint;
  }

  get address(): { address: string; port: number } {
    return { address: this.#socket.address, port: this.#socket.port };
  }

  /** Which UDP implementation carries this BMC's datagrams. */
  get udp(): UdpKind {
    return this.#socket.kind;
  }

  setFaults(f: Partial<BmcFaults>): void {
    Object.assign(this.faults, f);
  }

  /** The reply to send at once, if any; delayed and asynchronous replies are sent by themselves. */
  #onMessage(msg: Buffer, from: Peer): Buffer | undefined {
    if (this.#closed || this.faults.noAnswer || msg.length > MAX_DATAGRAM) return undefined;
    const reply = this.bmc.receive(msg, from);
    if (reply instanceof Promise) {
      // Bmc.receive never rejects; the handler guards the process if that ever changes.
      reply.then(
        (r) => {
          const now = this.#pass(r, from);
          if (now !== undefined) this.#socket.sendTo(now, from.port, from.address);
        },
        () => {},
      );
      return undefined;
    }
    return this.#pass(reply, from);
  }

  /** The reply after the fault hooks: undefined when it is lost or sent later. */
  #pass(reply: Buffer | undefined, to: Peer): Buffer | undefined {
    if (reply === undefined || this.#closed) return undefined;
    if (this.faults.dropRate > 0 && this.#random() < this.faults.dropRate) return undefined;
    if (this.faults.latencyMs > 0) {
      setTimeout(() => {
        if (!this.#closed) this.#socket.sendTo(reply, to.port, to.address);
      }, this.faults.latencyMs);
      return undefined;
    }
    return reply;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return this.#socket.close();
  }
}
