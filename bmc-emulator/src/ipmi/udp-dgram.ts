/**
 * The virtual BMCs' UDP sockets through node:dgram, for builds without bmlab's addon (the only
 * place that touches node:dgram).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { type LookupOneOptions, lookup } from 'node:dns';
import { isIP } from 'node:net';
import type { DatagramHandler, UdpSocket } from './udp-socket.ts';

/**
 * Address resolution for the socket. Every reply goes to the address a datagram came from, an IP
 * literal, yet dgram's default (dns.lookup) hands even a literal back on the next tick: a deferred
 * callback per reply. Literals are passed through at once (the last one without parsing it again:
 * replies mostly go back to the same few consoles).
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

export class DgramUdpSocket implements UdpSocket {
  readonly kind = 'dgram';
  readonly address: string;
  readonly port: number;
  readonly #socket: Socket;
  #closed = false;

  private constructor(socket: Socket, handler: DatagramHandler) {
    this.#socket = socket;
    this.address = socket.address().address;
    this.port = socket.address().port;
    // `from` is dgram's own description of the sender, made per datagram: it serves as the peer.
    socket.on('message', (msg: Buffer, from: RemoteInfo) => {
      try {
        const reply = handler(msg, from);
        if (reply !== undefined) this.sendTo(reply, from.port, from.address);
      } catch {
        // A handler answers or drops; it never throws into the event loop.
      }
    });
    // A UDP socket error (e.g. ICMP unreachable reflected on some systems) must not kill the lab.
    socket.on('error', () => {});
  }

  static bind(
    family: 4 | 6,
    address: string,
    port: number,
    handler: DatagramHandler,
  ): Promise<DgramUdpSocket> {
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      reuseAddr: false,
      lookup: literalFirst,
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve(new DgramUdpSocket(socket, handler));
      });
    });
  }

  sendTo(packet: Buffer, port: number, address: string): void {
    if (!this.#closed) this.#socket.send(packet, port, address);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
