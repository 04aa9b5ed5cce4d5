/**
 * The lab's DHCP server for PXE/iPXE, built on npm `dhcp` (its lease handling and wire format).
 * Every "what does this client get?" goes through `decideBoot` (decide.ts), the same function the
 * sim's NIC ROM calls, and addresses come from a `LeasePool` the sim shares.
 *
 * npm dhcp 0.2.20 is patched at install (patches/dhcp+0.2.20.patch, applied by patch-package in
 * `postinstall`): unpatched, the first DISCOVER from iPXE kills the process (it requests option 60,
 * which has no config key, and `config(undefined)` throws inside the socket handler), and options
 * 77/93/94/97/175 are dropped at parse, so iPXE cannot be told apart from its NIC ROM. The patch
 * also lets replies go to a port other than 68 (`clientPort`), so tests bind port 0.
 *
 * Limits, as measured in reference/qemu-netboot.md sec. 3: Node's dgram cannot bind to an
 * interface, so in bridge mode run it inside the lab's network namespace on 0.0.0.0:67; replies go
 * to the configured broadcast address. iPXE on a bridge also needs an IPv6 router advertisement
 * (or it stalls ~16 s); this module does not send one.
 */
import type { AddressInfo } from 'node:net';
import dhcp, { type DhcpLibPacket, type DhcpLibServer } from 'dhcp';
import libOptions from 'dhcp/lib/options.js';
import { BmlabError, createLogger } from '../../../common/src/index.ts';
import {
  type BootAnswer,
  type BootDecision,
  type ClientKind,
  classifyClient,
  type DhcpClientRequest,
  decideBoot,
  type PxePolicy,
} from './decide.ts';
import type { LeasePool } from './leases.ts';
import { DhcpOption, normalizeMac } from './options.ts';

const log = createLogger('network-boot:dhcp');

export interface DhcpServerOptions {
  /** This server's address: option 54, siaddr, and the default router and DNS. */
  readonly serverAddress: string;
  readonly netmask: string;
  /** Where replies are sent (the subnet broadcast; 127.0.0.1 in tests). */
  readonly broadcast: string;
  readonly router?: string;
  readonly dns?: readonly string[];
  readonly leaseTimeS?: number;
  readonly pool: LeasePool;
  /** The pool's range, for npm dhcp's own bookkeeping (it only uses it if the pool is full). */
  readonly range: readonly [string, string];
  readonly policy: PxePolicy;
  /** UDP port clients listen on (68 on a real network). */
  readonly clientPort?: number;
  readonly onEvent?: (event: DhcpEvent) => void;
}

export type DhcpMessageKind = 'discover' | 'request';

export type DhcpEvent =
  | {
      readonly type: 'received';
      readonly message: DhcpMessageKind;
      readonly mac: string;
      readonly client: ClientKind;
    }
  | {
      readonly type: 'answered';
      readonly message: 'offer' | 'ack';
      readonly mac: string;
      readonly address: string | undefined;
      readonly answer: BootAnswer;
    }
  | {
      readonly type: 'ignored';
      readonly message: DhcpMessageKind;
      readonly mac: string;
      readonly reason: string;
    }
  | { readonly type: 'error'; readonly error: Error };

/** Fails fast when `npm ci` ran without the postinstall step that patches npm dhcp. */
export function assertDhcpLibPatched(): void {
  if (
    libOptions.opts[DhcpOption.UserClass] === undefined ||
    libOptions.opts[DhcpOption.IpxeEncap] === undefined
  ) {
    throw new BmlabError(
      'ERR_DHCP_UNPATCHED',
      'npm dhcp is not patched (options 77/175 unknown): run `npm ci` so postinstall applies patches/dhcp+0.2.20.patch',
    );
  }
}

/** Reads the decision inputs out of a packet npm dhcp decoded. */
export function clientRequestOf(req: DhcpLibPacket): DhcpClientRequest {
  const o = req.options;
  const arch = o[DhcpOption.ClientArch];
  const encap = o[DhcpOption.IpxeEncap];
  return {
    mac: normalizeMac(req.chaddr),
    vendorClassId:
      typeof o[DhcpOption.VendorClassId] === 'string' ? (o[DhcpOption.VendorClassId] as string) : undefined,
    userClass: typeof o[DhcpOption.UserClass] === 'string' ? (o[DhcpOption.UserClass] as string) : undefined,
    clientArch: Array.isArray(arch) && typeof arch[0] === 'number' ? arch[0] : undefined,
    ipxeEncap: Array.isArray(encap) ? (encap as number[]) : undefined,
  };
}

export class DhcpServer {
  readonly #lib: DhcpLibServer;
  readonly #opts: DhcpServerOptions;
  /** The decision for the packet being answered; npm dhcp asks for option values synchronously. */
  #current: BootAnswer | undefined;

  constructor(opts: DhcpServerOptions) {
    assertDhcpLibPatched();
    this.#opts = opts;
    const answer = () => this.#current;
    this.#lib = dhcp.createServer({
      range: [...opts.range],
      // npm dhcp evaluates function-valued config first, so the lookup function is returned by one.
      static: () => (mac: string) => opts.pool.addressFor(mac) ?? null,
      randomIP: false,
      netmask: opts.netmask,
      router: [opts.router ?? opts.serverAddress],
      dns: [...(opts.dns ?? [opts.router ?? opts.serverAddress])],
      server: opts.serverAddress,
      broadcast: opts.broadcast,
      leaseTime: opts.leaseTimeS ?? 3600,
      // Function values are evaluated per reply; null means "leave the option out".
      bootFile: () => answer()?.bootFile ?? null,
      tftpServer: () => answer()?.nextServer ?? null,
      vendorClassId: () => answer()?.vendorClassId ?? null,
      ipxe: () => (answer()?.ipxeEncap ? [...(answer()?.ipxeEncap ?? [])] : null),
      forceOptions: ['bootFile', 'tftpServer', 'vendorClassId', 'ipxe'],
      ...(opts.clientPort !== undefined ? { clientPort: opts.clientPort } : {}),
    });
    // Route both message kinds through the decision before npm dhcp answers (its handlers are
    // prototype methods, meant to be specialised).
    const proto = Object.getPrototypeOf(this.#lib) as DhcpLibServer;
    this.#lib.handleDiscover = (req) =>
      this.#handle(req, 'discover', () => proto.handleDiscover.call(this.#lib, req));
    this.#lib.handleRequest = (req) =>
      this.#handle(req, 'request', () => proto.handleRequest.call(this.#lib, req));
    this.#lib.on('error', (e: unknown) => {
      const error = e instanceof Error ? e : new Error(String(e));
      log.debug('error: %s', error.message);
      this.#emit({ type: 'error', error });
    });
  }

  /** Binds UDP `port` (67 on a real network, 0 in tests) on `host`. */
  listen(port = 67, host = '0.0.0.0'): Promise<AddressInfo> {
    const sock = this.#lib._sock;
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      // npm dhcp's own listen() turns port 0 into 67, so bind its socket directly.
      sock.bind(port, host, () => {
        sock.off('error', reject);
        sock.setBroadcast(true);
        resolve(sock.address());
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#lib.close(() => resolve()));
  }

  #handle(req: DhcpLibPacket, message: DhcpMessageKind, answerWithLib: () => void): void {
    const creq = clientRequestOf(req);
    this.#emit({ type: 'received', message, mac: creq.mac, client: classifyClient(creq) });
    const selected = req.options[54];
    if (message === 'request' && typeof selected === 'string' && selected !== this.#opts.serverAddress) {
      // RFC 2131 sec. 4.3.2: the client chose another server's offer.
      this.#emit({ type: 'ignored', message, mac: creq.mac, reason: `client selected ${selected}` });
      return;
    }
    const decision: BootDecision = decideBoot(creq, this.#opts.policy);
    if (decision.kind === 'ignore') {
      log.debug('%s %s ignored: %s', message, creq.mac, decision.reason);
      this.#emit({ type: 'ignored', message, mac: creq.mac, reason: decision.reason });
      return;
    }
    this.#current = decision;
    try {
      answerWithLib();
    } finally {
      this.#current = undefined;
    }
    const address = this.#opts.pool.addressFor(creq.mac);
    log.debug('%s %s (%s) -> %s %s', message, creq.mac, decision.client, address, decision.bootFile ?? '');
    this.#emit({
      type: 'answered',
      message: message === 'discover' ? 'offer' : 'ack',
      mac: creq.mac,
      address,
      answer: decision,
    });
  }

  #emit(event: DhcpEvent): void {
    try {
      this.#opts.onEvent?.(event);
    } catch (e) {
      log.warn('event listener threw: %s', (e as Error).message);
    }
  }
}
