/**
 * Bridge networking (root): two VMs on one Linux bridge in a private namespace PXE-boot from the lab's
 * servers on that segment: dnsmasq for DHCP (with iPXE's no-proxyDHCP option 175.176) and the IPv6 RA
 * that keeps iPXE from stalling, and the lab's HTTP server, both run inside the namespace.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeNetwork, ensureImages, QemuMachine } from '../../vm-fleet/src/qemu/index.ts';
import type { PhoneHome } from './lab-server.ts';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canBridge = process.getuid?.() === 0 && has('dnsmasq');

/** Runs a command inside the bridge's namespace. */
const inNamespace = (net: BridgeNetwork, argv: string[]) =>
  execa(net.exec()[0] ?? 'ip', [...net.exec().slice(1), ...argv], { reject: false });

describe.skipIf(!canBridge)('bridge networking (netns + bridge + taps)', () => {
  let dir: string;
  let net: BridgeNetwork | undefined;
  let lab: ReturnType<typeof inNamespace> | undefined;
  let dhcp: ReturnType<typeof inNamespace> | undefined;
  const homes: PhoneHome[] = [];
  const machines: QemuMachine[] = [];
  let labUrl = '';

  beforeAll(async () => {
    const images = await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'bmlab-bridge-'));
    net = await BridgeNetwork.create({ namespace: `bmlab-test-${process.pid}` });
    await net.addTap('tap0');
    await net.addTap('tap1');
    const fixture = fileURLToPath(new URL('fixtures/netns-lab.ts', import.meta.url));
    lab = inNamespace(net, [
      ...['node', '--import', 'tsx', fixture, net.gateway],
      ...[`/vmlinuz=${images.kernel}`, `/initrd.gz=${images.agentInitrd}`],
    ]);
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      lab?.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const line of lines) {
          const p = /^port (\d+)/.exec(line);
          if (p?.[1] !== undefined) resolve(Number(p[1]));
          if (line.startsWith('home ')) homes.push(JSON.parse(line.slice(5)) as PhoneHome);
        }
      });
      void lab?.then((r) => reject(new Error(`lab exited: ${r.stderr}`)));
    });
    labUrl = `http://${net.gateway}:${port}`;
    // dnsmasq stands in for the lab's DHCP server here: DHCP with the boot URL, and the IPv6 RA.
    dhcp = inNamespace(net, [
      ...['dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--user=root'],
      ...[
        `--interface=${net.bridge}`,
        '--bind-interfaces',
        '--dhcp-range=10.77.0.10,10.77.0.99,255.255.255.0,1h',
      ],
      ...[
        `--dhcp-range=::,constructor:${net.bridge},ra-only`,
        '--enable-ra',
        '--dhcp-option=encap:175,176,1',
      ],
      ...[`--dhcp-boot=${labUrl}/boot.ipxe`, `--dhcp-leasefile=${join(dir, 'leases')}`],
      // No ping before the first offer: dnsmasq would answer only iPXE's retransmission, ~3 s later.
      '--no-ping',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ]);
  });

  afterAll(async () => {
    for (const m of machines) await m.powerOff();
    dhcp?.kill('SIGTERM');
    lab?.kill('SIGTERM');
    await Promise.all([dhcp, lab]);
    await net?.destroy();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('two VMs on one segment PXE-boot from the lab and get distinct leases', async () => {
    if (net === undefined) throw new Error('no bridge');
    for (const i of [0, 1]) {
      const m = new QemuMachine({
        spec: {
          name: `br-${i}`,
          cpus: 1,
          memoryMiB: 256,
          arch: 'x86_64',
          nics: [{ mac: `52:54:00:77:00:1${i}` }],
          disks: [],
          bootOrder: ['pxe'],
        },
        dir: join(dir, `br-${i}`),
        network: { mode: 'tap', ifname: `tap${i}` },
        netns: net.namespace,
        accel: 'tcg',
      });
      machines.push(m);
    }
    const t0 = Date.now();
    await Promise.all(machines.map((m) => m.powerOn()));
    const deadline = Date.now() + 90_000;
    while (homes.filter((h) => h.query['role'] === 'agent').length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const agentHomes = homes.filter((h) => h.query['role'] === 'agent');
    console.log(
      `bridge: 2 VMs power on → phone-home: ${agentHomes.map((h) => ((h.at - t0) / 1000).toFixed(2)).join(' s, ')} s`,
    );
    expect(agentHomes.map((h) => h.query['mac']).sort()).toEqual(['52:54:00:77:00:10', '52:54:00:77:00:11']);
    const ips = agentHomes.map((h) => h.query['ip'] ?? '');
    expect(new Set(ips).size).toBe(2);
    for (const ip of ips) expect(ip).toMatch(/^10\.77\.0\.\d+$/);
    expect(machines[0]?.serial.text()).toMatch(/iPXE/);
    expect(labUrl).toContain(net.gateway);
  });
});
