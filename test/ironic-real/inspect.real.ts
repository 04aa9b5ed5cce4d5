/**
 * In-band inspection with the emulated agent against REAL Ironic 21.4 + ironic-inspector 11.1
 * (reference inspector.md, variant A: Ironic-managed boot). Ironic writes an iPXE script whose kernel
 * line carries `ipa-inspection-callback-url`; the agent boots with it, POSTs its inventory to
 * inspector's `/v1/continue`, inspector sets the node's properties, and the node goes back to
 * `manageable`. Run with `npm run test:ironic`.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type AgentEvent, MemoryHost } from '../../agent/src/index.ts';
import { provisioningToLocal } from '../../lab/src/index.ts';
import {
  hasRealInspector,
  hasRealIronic,
  ipxeKernelLine,
  type RealIronic,
  startRealIronic,
} from './real-ironic.ts';

const mac = '52:54:00:00:00:03';
const gib = 1024 ** 3;

let ironic: RealIronic;

beforeAll(async () => {
  if (!hasRealIronic || !hasRealInspector) return;
  ironic = await startRealIronic({ inspector: {} });
  console.log(`Ironic + inspector ready in ${(ironic.startMs / 1000).toFixed(2)} s`);
}, 120_000);

afterAll(async () => {
  await ironic?.stop();
});

async function waitFor(
  uuid: string,
  target: string,
  seen: string[],
  timeoutMs = 90_000,
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

describe.skipIf(!hasRealIronic || !hasRealInspector)('inspection through real ironic-inspector 11.1', () => {
  it('the agent inventory fills the node properties: inspect wait -> manageable', async () => {
    writeFileSync(join(ironic.state, 'files', 'ipa.kernel'), randomBytes(1024));
    writeFileSync(join(ironic.state, 'files', 'ipa.initramfs'), randomBytes(1024));
    const [created, node] = (await ironic.call('POST', '/v1/nodes', {
      name: 'node-3',
      driver: 'manual-management',
      boot_interface: 'ipxe',
      deploy_interface: 'direct',
      power_interface: 'fake',
      management_interface: 'noop',
      network_interface: 'noop',
      inspect_interface: 'inspector',
      driver_info: {
        deploy_kernel: `file://${ironic.state}/files/ipa.kernel`,
        deploy_ramdisk: `file://${ironic.state}/files/ipa.initramfs`,
      },
    })) as [number, { uuid: string }];
    expect(created).toBe(201);
    const uuid = node.uuid;
    // The port gives Ironic-managed boot and lets inspector find the node by MAC (inspector.md pitfall 2).
    expect((await ironic.call('POST', '/v1/ports', { address: mac, node_uuid: uuid }))[0]).toBe(201);
    const seen: string[] = [];
    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'manage' }))[0]).toBe(
      202,
    );
    await waitFor(uuid, 'manageable', seen);

    const t0 = performance.now();
    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'inspect' }))[0]).toBe(
      202,
    );
    await waitFor(uuid, 'inspect wait', seen);
    const cmdline = ipxeKernelLine(ironic.state, uuid, mac);
    console.log(`agent kernel line: ${cmdline}`);
    // Ironic insists on a non-loopback callback: the lab's provisioning address, mapped back by the agent.
    expect(cmdline).toContain(`ipa-inspection-callback-url=${ironic.inspector?.callbackUrl}/v1/continue`);
    expect(ironic.inspector?.callbackUrl).toMatch(/^http:\/\/10\.77\.0\.1:/);

    const host = new MemoryHost({
      name: 'node-3',
      cpus: 8,
      memoryMiB: 16384,
      arch: 'x86_64',
      nics: [{ mac }],
      disks: [
        { name: 'sda', sizeBytes: 100 * gib },
        { name: 'sdb', sizeBytes: 50 * gib, rotational: false },
      ],
      // Inspector keeps only interfaces with a non-loopback address (add_ports=pxe).
      ipv4: ['192.0.2.50'],
    });
    const events: AgentEvent[] = [];
    const agent = new Agent({
      cmdline,
      host,
      resolveUrl: provisioningToLocal,
      onEvent: (e) => events.push(e),
    });
    await agent.start();
    try {
      const done = await waitFor(uuid, 'manageable', seen);
      console.log(
        `inspection: ${((performance.now() - t0) / 1000).toFixed(2)} s; states ${seen.join(' -> ')}`,
      );
      expect(events).toContainEqual({ type: 'inspected', uuid });
      // Inspector's hooks: cpus/cpu_arch from inventory.cpu, memory_mb from memory.physical_mb,
      // local_gb from root_disk (the smallest disk >= 4 GiB: 50 GiB) minus 1.
      // Inspector writes them as strings, as it did in the reference run.
      expect(done['properties']).toMatchObject({
        cpus: '8',
        cpu_arch: 'x86_64',
        memory_mb: '16384',
        local_gb: '49',
      });
      // Inspector stores the introspection data as it finishes, and Ironic may report manageable a
      // moment before that store is visible: ask again for a few seconds (it 404'd once in CI).
      let [invStatus, inv] = [0, {} as Record<string, unknown>];
      for (let i = 0; i < 25 && invStatus !== 200; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200));
        [invStatus, inv] = (await ironic.call('GET', `/v1/nodes/${uuid}/inventory`)) as [
          number,
          Record<string, unknown>,
        ];
      }
      expect(invStatus).toBe(200);
      expect((inv['inventory'] as { interfaces: { mac_address: string }[] }).interfaces[0]?.mac_address).toBe(
        mac,
      );
    } finally {
      await agent.stop();
    }
  }, 120_000);
});
