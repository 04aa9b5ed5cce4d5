/**
 * Measures the sim's full PXE path at scale: N nodes powered on at once, each walking DHCP ->
 * iPXE -> boot.ipxe -> per-node config -> ramdisk hook, against an Ironic-shaped boot root.
 *
 *   node --import tsx vm-fleet/src/sim/measure.ts [N=1000] [timeScale=0] [direct|http]
 *
 * Prints wall time, nodes per second and RSS. `direct` reads the files and models a PXE ROM that
 * chainloads iPXE over TFTP; `http` serves the boot root over real HTTP on 127.0.0.1 (every node's
 * fetches go through fastify) with iPXE in the NIC ROM, as QEMU has it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  directoryFetcher,
  LeasePool,
  networkFetcher,
  startBootHttp,
  writeIronicBootFiles,
} from '../../../network-boot/src/index.ts';
import { defaultMachineSpec } from '../machine.ts';
import { SimFleet, simUuid } from './fleet.ts';
import { createSimBootNetwork } from './network.ts';

const n = Number(process.argv[2] ?? 1000);
const timeScale = Number(process.argv[3] ?? 0);
const mode = process.argv[4] ?? 'direct';
const root = await mkdtemp(join(tmpdir(), 'bmlab-measure-'));
const http = mode === 'http' ? await startBootHttp({ root }) : undefined;
const base = http?.url ?? 'http://10.77.0.1:8080';
for (let i = 0; i < n; i++) {
  await writeIronicBootFiles(root, {
    uuid: simUuid(i),
    macs: [defaultMachineSpec(i).nics[0]!.mac],
    httpUrl: base,
    apiUrl: 'http://10.77.0.1:6385',
  });
}
// the PXE ROM stage fetches undionly.kpxe over "TFTP" from the same directory
await writeFile(join(root, 'undionly.kpxe'), Buffer.alloc(70_000));
const rss0 = process.memoryUsage().rss;
let booted = 0;
let finish: () => void;
const all = new Promise<void>((r) => {
  finish = r;
});
const t0 = performance.now();
const fleet = new SimFleet({
  count: n,
  timeScale,
  seed: 1,
  nicRom: mode === 'http' ? 'ipxe' : 'pxe',
  network: createSimBootNetwork({
    policy: { nextServer: '10.77.0.1', scriptUrl: `${base}/boot.ipxe` },
    pool: new LeasePool({ range: ['10.64.0.1', '10.64.255.254'] }),
    fetcher:
      mode === 'http'
        ? networkFetcher()
        : directoryFetcher({ http: [{ urlPrefix: `${base}/`, dir: root }], tftpRoot: root }),
  }),
  onRamdiskBoot: () => {
    if (++booted === n) finish();
  },
});
const tCreated = performance.now();
for (const m of fleet.machines) m.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
await fleet.powerOnAll();
await all;
const t1 = performance.now();
const rss1 = process.memoryUsage().rss;
console.log(
  JSON.stringify({
    nodes: n,
    mode,
    nicRom: mode === 'http' ? 'ipxe' : 'pxe',
    timeScale,
    createMs: Math.round(tCreated - t0),
    powerOnToAllRamdisksMs: Math.round(t1 - tCreated),
    nodesPerSecond: Math.round(n / ((t1 - tCreated) / 1000)),
    rssBeforeMiB: Math.round(rss0 / 2 ** 20),
    rssAfterMiB: Math.round(rss1 / 2 ** 20),
  }),
);
await fleet.powerOffAll();
await http?.close();
await rm(root, { recursive: true, force: true });
