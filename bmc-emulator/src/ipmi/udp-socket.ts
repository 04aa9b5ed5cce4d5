/**
 * A virtual BMC's UDP socket, as the endpoint needs it: datagrams in, each answered (or not) by
 * the handler's return value, and sends of its own (delayed replies, Serial-over-LAN output).
 * Two implementations: bmlab's addon (udp-native.ts), and node:dgram (udp-dgram.ts) where the
 * addon is not built or BMLAB_UDP=dgram asks for it.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Peer } from './bmc.ts';
import { DgramUdpSocket } from './udp-dgram.ts';
import { NativeUdpSocket, nativeUdpUnavailable } from './udp-native.ts';

/** Answers one datagram: the reply to send back to its sender, or undefined. */
export type DatagramHandler = (packet: Buffer, from: Peer) => Buffer | undefined;

export interface UdpSocket {
  readonly kind: UdpKind;
  /** The bound address (an IP literal) and port. */
  readonly address: string;
  readonly port: number;
  /** Sends at once; a datagram the kernel cannot take is lost, as on a wire. */
  sendTo(packet: Buffer, port: number, address: string): void;
  close(): Promise<void>;
}

export type UdpKind = 'native' | 'dgram';

/** The transport sockets get: the addon when it is built, unless BMLAB_UDP=dgram. */
export function udpKind(env: NodeJS.ProcessEnv = process.env): UdpKind {
  const asked = env.BMLAB_UDP;
  if (asked !== undefined && asked !== '' && asked !== 'native' && asked !== 'dgram') {
    throw new Error(`BMLAB_UDP: "${asked}" is neither native nor dgram`);
  }
  if (asked === 'dgram') return 'dgram';
  if (asked === 'native' && nativeUdpUnavailable !== undefined) {
    throw new Error(`BMLAB_UDP=native, but bmlab's UDP addon is not built: ${nativeUdpUnavailable}`);
  }
  return nativeUdpUnavailable === undefined ? 'native' : 'dgram';
}

/** Binds a socket on `address` (an IP literal or a host name) and `port` (0: any free port). */
export async function bindUdp(
  address: string,
  port: number,
  handler: DatagramHandler,
  kind: UdpKind = udpKind(),
): Promise<UdpSocket> {
  const family = address.includes(':') ? 6 : 4;
  const literal = isIP(address) !== 0 ? address : (await lookup(address, { family })).address;
  return kind === 'native'
    ? NativeUdpSocket.bind(family, literal, port, handler)
    : DgramUdpSocket.bind(family, literal, port, handler);
}
