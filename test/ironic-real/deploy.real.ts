/**
 * The emulated agent against REAL OpenStack Ironic 21.4 (Debian's packages, standalone): a
 * manual-management node (ipxe boot, noop management, fake power, direct deploy) is deployed; the agent
 * boots with the kernel line from the iPXE script Ironic wrote; Ironic waits in
 * `wait call-back` until the agent looks itself up and heartbeats, then drives get_deploy_steps,
 * write_image, get_partition_uuids and standby.power_off over the agent's API, and the node goes
 * `active`. Undeploy with automated cleaning boots a second agent (new lookup, new token) that runs
 * erase_devices_metadata and erase_devices. Run with `npm run test:ironic`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentEvent, MemoryHost } from '../../agent/src/index.ts';
import { hasRealIronic, ipxeKernelLine, type RealIronic, startRealIronic } from './real-ironic.ts';

const gib = 1024 ** 3;
const image = randomBytes(8 * 1024 * 1024);
image.writeUInt32LE(0x1badb002, 440);
const imageSha256 = createHash('sha256').update(image).digest('hex');

let ironic: RealIronic;
let imageServer: Server;
let imageUrl: string;
const imageGets: string[] = [];

beforeAll(async () => {
  ironic = await startRealIronic();
  console.log(`real Ironic ready in ${(ironic.startMs / 1000).toFixed(2)} s at ${ironic.url}`);
  imageServer = createServer((req, res) => {
    imageGets.push(req.method ?? '');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': image.length });
    res.end(req.method === 'HEAD' ? undefined : image);
  });
  await new Promise<void>((r) => imageServer.listen(0, '127.0.0.1', () => r()));
  imageUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}/image.raw`;
}, 120_000);

afterAll(async () => {
  await ironic?.stop();
  imageServer?.closeAllConnections();
  await new Promise((r) => imageServer?.close(r));
});

/** Polls the node every 0.2 s, recording each provision state, until `target` (or a failure state). */
async function waitFor(
  uuid: string,
  target: string,
  seen: string[],
  timeoutMs = 120_000,
): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const [, node] = (await ironic.call('GET', `/v1/nodes/${uuid}`)) as [number, Record<string, unknown>];
    const state = String(node['provision_state']);
    if (seen.at(-1) !== state) seen.push(state);
    if (state === target) return node;
    if (/failed|error/.test(state)) throw new Error(`node went to ${state}: ${String(node['last_error'])}`);
    if (Date.now() > end) throw new Error(`timed out in ${state} waiting for ${target}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function provision(uuid: string, target: string): Promise<void> {
  const [status, body] = await ironic.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target });
  expect(status, JSON.stringify(body)).toBe(202);
}

function bootAgent(uuid: string, mac: string, host: MemoryHost, events: AgentEvent[]): Agent {
  return new Agent({
    cmdline: ipxeKernelLine(ironic.state, uuid, mac),
    host,
    heartbeatIntervalMs: 1000,
    forcedHeartbeatGapMs: 1000,
    lookupIntervalMs: 500,
    lookupMaxIntervalMs: 2000,
    onEvent: (e) => events.push(e),
  });
}

// In UEFI mode Ironic also asks the agent to install the boot loader of a whole-disk image.
const modes = [
  { mode: 'bios', name: 'node-1', mac: '52:54:00:00:00:01', extra: [] as string[] },
  { mode: 'uefi', name: 'node-2', mac: '52:54:00:00:00:02', extra: ['install_bootloader:SUCCEEDED'] },
] as const;

describe.skipIf(!hasRealIronic).each(modes)(
  'the agent against real Ironic 21.4 ($mode)',
  ({ mode, name, mac, extra }) => {
    let uuid: string;
    const host = new MemoryHost({
      name,
      cpus: 2,
      memoryMiB: 4096,
      arch: 'x86_64',
      nics: [{ mac }],
      disks: [{ name: 'vda', sizeBytes: 20 * gib }],
    });

    it('deploys a node through the agent: wait call-back -> active', async () => {
      // manual-management: the ipxe boot interface writes the real boot config, the noop management
      // interface accepts `disk` (fake-hardware's fake management supports only pxe, so prepare_instance_boot
      // fails there), and fake power stands in for the BMC. Ironic only copies the deploy kernel/ramdisk.
      writeFileSync(join(ironic.state, 'files', 'ipa.kernel'), randomBytes(1024));
      writeFileSync(join(ironic.state, 'files', 'ipa.initramfs'), randomBytes(1024));
      const [created, node] = (await ironic.call('POST', '/v1/nodes', {
        name,
        driver: 'manual-management',
        boot_interface: 'ipxe',
        deploy_interface: 'direct',
        power_interface: 'fake',
        management_interface: 'noop',
        network_interface: 'noop',
        driver_info: {
          deploy_kernel: `file://${ironic.state}/files/ipa.kernel`,
          deploy_ramdisk: `file://${ironic.state}/files/ipa.initramfs`,
        },
        properties: {
          cpu_arch: 'x86_64',
          cpus: 2,
          memory_mb: 4096,
          local_gb: 10,
          capabilities: `boot_mode:${mode}`,
        },
      })) as [number, { uuid: string }];
      expect(created).toBe(201);
      uuid = node.uuid;
      const [portStatus] = await ironic.call('POST', '/v1/ports', { address: mac, node_uuid: uuid });
      expect(portStatus).toBe(201);

      const seen: string[] = [];
      await provision(uuid, 'manage');
      await waitFor(uuid, 'manageable', seen);
      await provision(uuid, 'provide');
      await waitFor(uuid, 'available', seen);
      const [patched] = await ironic.call('PATCH', `/v1/nodes/${uuid}`, [
        { op: 'add', path: '/instance_info/image_source', value: imageUrl },
        { op: 'add', path: '/instance_info/image_os_hash_algo', value: 'sha256' },
        { op: 'add', path: '/instance_info/image_os_hash_value', value: imageSha256 },
        { op: 'add', path: '/instance_info/image_disk_format', value: 'raw' },
      ]);
      expect(patched).toBe(200);

      const t0 = performance.now();
      await provision(uuid, 'active');
      await waitFor(uuid, 'wait call-back', seen);
      const tWait = performance.now();

      const events: AgentEvent[] = [];
      const agent = bootAgent(uuid, mac, host, events);
      console.log(`agent kernel line: ${ipxeKernelLine(ironic.state, uuid, mac)}`);
      expect(agent.params.apiUrl).toBe(ironic.url);
      expect(agent.params.bootMac).toBe(mac);
      await agent.start();
      try {
        expect(await agent.lookedUp).toBe(uuid);
        expect(agent.token?.length).toBeGreaterThanOrEqual(32);
        const active = await waitFor(uuid, 'active', seen, 120_000);
        const tActive = performance.now();
        console.log(
          `${mode} deploy: ${((tWait - t0) / 1000).toFixed(2)} s to wait call-back, ` +
            `${((tActive - tWait) / 1000).toFixed(2)} s from agent start to active; states ${seen.join(' -> ')}`,
        );

        expect(seen).toEqual(expect.arrayContaining(['manageable', 'available', 'deploying']));
        expect(seen.slice(-3)).toEqual(['wait call-back', 'deploying', 'active']);
        // Ironic wipes agent_url at the end of the deploy; its log shows it called the callback URL.
        expect(ironic.log()).toContain(agent.callbackUrl!);
        expect(active['last_error']).toBeNull();

        // What Ironic asked of the agent, in order, and how each ended.
        const cmds = agent.commands.map((c) => `${c.name}:${c.status}`);
        expect(cmds).toEqual([
          'get_deploy_steps:SUCCEEDED',
          'execute_deploy_step:SUCCEEDED',
          'get_partition_uuids:SUCCEEDED',
          ...extra,
          'power_off:SUCCEEDED',
        ]);
        const write = agent.commands[1]!;
        expect((write.params['step'] as { step: string }).step).toBe('write_image');
        const info = (write.params['step'] as { args: { image_info: Record<string, unknown> } }).args
          .image_info;
        expect(info).toMatchObject({ urls: [imageUrl], os_hash_algo: 'sha256', os_hash_value: imageSha256 });

        // The image is on the disk, the machine powered itself off, the agent is gone.
        expect(await host.diskChecksum('/dev/vda', 'sha256', image.length)).toBe(imageSha256);
        expect(host.powerOffs).toBe(1);
        expect(agent.stopped).toBe(true);
        expect(imageGets).toContain('GET');
        expect(events.filter((e) => e.type === 'heartbeat' && !e.ok)).toEqual([]);
      } finally {
        await agent.stop();
      }
    }, 180_000);

    it('undeploys with automated cleaning: a new boot, a new token, the disk erased -> available', async () => {
      const [set] = await ironic.call('PATCH', `/v1/nodes/${uuid}`, [
        { op: 'replace', path: '/automated_clean', value: true },
      ]);
      expect(set).toBe(200);
      const seen: string[] = [];
      const t0 = performance.now();
      await provision(uuid, 'deleted');
      await waitFor(uuid, 'clean wait', seen);

      const events: AgentEvent[] = [];
      const agent = bootAgent(uuid, mac, host, events);
      await agent.start();
      try {
        await agent.lookedUp;
        // Ironic wiped the deploy token; this boot got its own.
        expect(agent.token?.length).toBeGreaterThanOrEqual(32);
        await waitFor(uuid, 'available', seen, 120_000);
        console.log(
          `${mode} undeploy with cleaning: ${((performance.now() - t0) / 1000).toFixed(2)} s; states ${seen.join(' -> ')}`,
        );
        // Polling sees each state it catches; the short 'cleaning' after the last clean step
        // (Ironic's tear-down before available) can fall between two polls.
        expect(seen.at(-1)).toBe('available');
        expect(seen.slice(seen.indexOf('clean wait'))).toEqual(
          expect.arrayContaining(['clean wait', 'available']),
        );
        expect(
          seen
            .slice(seen.indexOf('clean wait'))
            .every((s) => ['clean wait', 'cleaning', 'available'].includes(s)),
        ).toBe(true);
        const steps = agent.commands
          .filter((c) => c.name === 'execute_clean_step')
          .map((c) => `${(c.params['step'] as { step: string }).step}:${c.status}`);
        expect(steps).toEqual(['erase_devices_metadata:SUCCEEDED', 'erase_devices:SUCCEEDED']);
        expect(host.diskContent('vda').length).toBe(0);
      } finally {
        await agent.stop();
      }
    }, 180_000);
  },
);
