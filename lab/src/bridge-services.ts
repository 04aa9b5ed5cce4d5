/**
 * The lab's services on a bridge segment, run inside the lab's network namespace (Node cannot enter
 * a namespace itself, so the lab starts this file under `ip netns exec`): the PXE DHCP server with
 * iPXE's no-proxyDHCP setting, the IPv6 router advertisement that keeps iPXE from stalling, and the
 * lab's HTTP port on the segment, a byte-for-byte relay to the lab's boot server through a unix
 * socket (a filesystem path crosses namespaces, an address does not).
 *
 * argv: one JSON object, `BridgeServicesConfig`. Prints `ready` once every service listens.
 */
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNetworkBoot } from '../../network-boot/src/index.ts';

export interface BridgeServicesConfig {
  /** The lab's address on the segment (the VMs' router and boot server). */
  readonly address: string;
  readonly netmask: string;
  readonly broadcast: string;
  readonly range: readonly [string, string];
  readonly bridge: string;
  /** The lab's HTTP port on the segment. */
  readonly httpPort: number;
  /** Where the lab's boot server accepts relayed connections. */
  readonly socket: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as BridgeServicesConfig;
const scriptUrl = `http://${cfg.address}:${cfg.httpPort}/boot.ipxe`;
const relay = createServer((client) => {
  const upstream = createConnection(cfg.socket);
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
});
await new Promise<void>((resolve, reject) => {
  relay.once('error', reject);
  relay.listen(cfg.httpPort, cfg.address, resolve);
});
const boot = await startNetworkBoot({
  host: cfg.address,
  // The network-boot HTTP server itself is not what the VMs use (the relay above is): an empty root.
  httpRoot: mkdtempSync(join(tmpdir(), 'bmlab-empty-')),
  httpPort: 0,
  dhcp: { netmask: cfg.netmask, broadcast: cfg.broadcast, range: cfg.range },
  policy: { scriptUrl },
  ra: { iface: cfg.bridge },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  relay.close();
  void boot.close().then(() => process.exit(0));
});
