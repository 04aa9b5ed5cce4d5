/**
 * The lab's network boot services started together on one address: HTTP boot root, TFTP, and
 * (optionally) the PXE DHCP server and IPv6 RA for bridge mode. They share one `PxePolicy` and one
 * `LeasePool`, which the sim backend reuses so simulated and real NICs get the same answers.
 */

import type { PxePolicy } from './dhcp/decide.ts';
import { LeasePool } from './dhcp/leases.ts';
import { type DhcpEvent, DhcpServer } from './dhcp/server.ts';
import { type BootFetchEvent, startBootHttp } from './http.ts';
import { RouterAdvertiser, type RouterAdvertiserOptions } from './ra.ts';
import { type TftpEvent, TftpServer } from './tftp/server.ts';

export type NetworkBootEvent =
  | ({ readonly service: 'http' } & BootFetchEvent)
  | ({ readonly service: 'tftp' } & TftpEvent)
  | ({ readonly service: 'dhcp' } & DhcpEvent);

export interface NetworkBootOptions {
  /** Address the services bind (the lab's address on the boot segment; 127.0.0.1 for sim-only labs). */
  readonly host: string;
  /** Address clients use to reach `host` (the guest's view, e.g. 10.0.2.2 behind slirp); defaults to host. */
  readonly advertise?: string;
  readonly httpRoot: string;
  readonly tftpRoot?: string;
  readonly httpPort?: number;
  readonly tftpPort?: number;
  /** Serve DHCP (bridge mode); sim-only and slirp labs leave it out. */
  readonly dhcp?: {
    readonly port?: number;
    readonly bindHost?: string;
    readonly netmask: string;
    readonly broadcast: string;
    readonly range: readonly [string, string];
    readonly static?: Readonly<Record<string, string>>;
    readonly clientPort?: number;
  };
  /** Policy fields beyond the defaults (script URL = `<http>/boot.ipxe`, next-server = advertise). */
  readonly policy?: Partial<PxePolicy>;
  readonly ra?: RouterAdvertiserOptions;
  readonly onEvent?: (event: NetworkBootEvent) => void;
}

export interface NetworkBoot {
  readonly httpUrl: string;
  readonly tftpPort: number | undefined;
  readonly dhcpPort: number | undefined;
  readonly policy: PxePolicy;
  readonly pool: LeasePool;
  close(): Promise<void>;
}

export async function startNetworkBoot(opts: NetworkBootOptions): Promise<NetworkBoot> {
  const emit = (e: NetworkBootEvent) => opts.onEvent?.(e);
  const advertise = opts.advertise ?? opts.host;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const http = await startBootHttp(
      { root: opts.httpRoot, onFetch: (e) => emit({ service: 'http', ...e }) },
      { host: opts.host, port: opts.httpPort ?? 0 },
    );
    closers.push(http.close);
    const httpUrl = http.url.replace(opts.host, advertise);

    let tftpPort: number | undefined;
    if (opts.tftpRoot !== undefined) {
      const tftp = new TftpServer({ root: opts.tftpRoot, onEvent: (e) => emit({ service: 'tftp', ...e }) });
      tftpPort = (await tftp.listen(opts.tftpPort ?? 69, opts.host)).port;
      closers.push(() => tftp.close());
    }

    const policy: PxePolicy = { nextServer: advertise, scriptUrl: `${httpUrl}/boot.ipxe`, ...opts.policy };
    const range = opts.dhcp?.range ?? ['10.77.0.100', '10.77.0.250'];
    const pool = new LeasePool({
      range,
      reserved: [advertise].filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)),
      ...(opts.dhcp?.static ? { static: opts.dhcp.static } : {}),
    });

    let dhcpPort: number | undefined;
    if (opts.dhcp !== undefined) {
      const d = opts.dhcp;
      const dhcp = new DhcpServer({
        serverAddress: advertise,
        netmask: d.netmask,
        broadcast: d.broadcast,
        range,
        pool,
        policy,
        ...(d.clientPort !== undefined ? { clientPort: d.clientPort } : {}),
        onEvent: (e) => emit({ service: 'dhcp', ...e }),
      });
      dhcpPort = (await dhcp.listen(d.port ?? 67, d.bindHost ?? '0.0.0.0')).port;
      closers.push(() => dhcp.close());
    }

    if (opts.ra !== undefined) {
      const ra = await RouterAdvertiser.start(opts.ra);
      closers.push(() => ra.stop());
    }
    return { httpUrl, tftpPort, dhcpPort, policy, pool, close };
  } catch (e) {
    await close();
    throw e;
  }
}
