import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockIronic } from '../server.ts';
import { serveImage } from '../testing/image-server.ts';
import { MiniAgent } from '../testing/mini-agent.ts';
import { RedfishPeer } from '../testing/redfish-peer.ts';

const V = { 'X-OpenStack-Ironic-API-Version': '1.82', 'Content-Type': 'application/json' };
const MAC = '52:54:00:00:00:41';

describe('redfish hardware type', () => {
  let dir: string;
  let peer: RedfishPeer;
  let ironic: MockIronic;
  const agents: MiniAgent[] = [];
  let image: Awaited<ReturnType<typeof serveImage>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mock-ironic-redfish-'));
    writeFileSync(join(dir, 'kernel'), 'k');
    peer = new RedfishPeer('node-0', MAC);
    await peer.start();
    image = await serveImage();
    ironic = new MockIronic({
      port: 0,
      stateDir: join(dir, 'state'),
      conductor: {
        syncPowerStateInterval: 0,
        automatedClean: false,
        postDeployGetPowerStateRetryInterval: 0.05,
      },
    });
    await ironic.start();
    peer.onEvent((e) => {
      if (e.power === 'On' && e.bootTarget === 'Pxe') {
        const a = new MiniAgent({
          ironicUrl: ironic.url,
          mac: MAC,
          heartbeatMs: 50,
          stepMs: 50,
          powerOff: () => peer.powerOffFromInside(),
        });
        agents.push(a);
        void a.start();
      } else if (e.power === 'Off') {
        for (const a of agents) void a.stop();
      }
    });
  });

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await ironic.stop();
    await peer.stop();
    await image.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${ironic.url}${path}`, {
      method,
      headers: V,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const until = async (want: string) => {
    const end = Date.now() + 15_000;
    for (;;) {
      const { body } = await api('GET', '/v1/nodes/rf');
      if (body.provision_state === want && body.reservation === null) return body;
      if (Date.now() > end) throw new Error(`stuck in ${body.provision_state}: ${body.last_error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('inspects out of band, sets boot devices and deploys through Redfish', async () => {
    const created = await api('POST', '/v1/nodes', {
      driver: 'redfish',
      name: 'rf',
      inspect_interface: 'redfish',
      driver_info: {
        redfish_address: peer.url,
        redfish_system_id: '/redfish/v1/Systems/node-0',
        redfish_username: 'admin',
        redfish_password: 'password',
        deploy_kernel: pathToFileURL(join(dir, 'kernel')).href,
        deploy_ramdisk: pathToFileURL(join(dir, 'kernel')).href,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      power_interface: 'redfish',
      management_interface: 'redfish',
      boot_interface: 'ipxe',
    });

    await api('PUT', '/v1/nodes/rf/states/provision', { target: 'manage' });
    expect((await until('manageable')).power_state).toBe('power off');

    await api('PUT', '/v1/nodes/rf/states/provision', { target: 'inspect' });
    const inspected = await until('manageable');
    // Reference §4: GiB x 1024, summed threads, x86 -> x86_64, disk GiB - 1, boot mode capability.
    expect(inspected.properties).toEqual({
      memory_mb: 4096,
      cpus: 2,
      cpu_arch: 'x86_64',
      local_gb: 10,
      capabilities: 'boot_mode:uefi',
    });
    const ports = (await api('GET', '/v1/nodes/rf/ports?fields=address')).body.ports;
    expect(ports).toEqual([{ address: MAC }]);

    expect(
      (await api('PUT', '/v1/nodes/rf/management/boot_device', { boot_device: 'disk', persistent: true }))
        .status,
    ).toBe(204);
    expect((await api('GET', '/v1/nodes/rf/management/boot_device')).body).toEqual({
      boot_device: 'disk',
      persistent: true,
    });

    await api('PUT', '/v1/nodes/rf/states/provision', { target: 'provide' });
    await until('available');
    // An image URL that does not answer HEAD with 200 fails the deploy while preparing, as in Ironic.
    const missing = image.url.replace('disk.raw', 'missing.raw');
    await api('PATCH', '/v1/nodes/rf', [
      { op: 'add', path: '/instance_info/image_source', value: missing },
      { op: 'add', path: '/instance_info/image_checksum', value: 'e'.repeat(32) },
    ]);
    await api('PUT', '/v1/nodes/rf/states/provision', { target: 'active' });
    const failed = await until('deploy failed');
    expect(failed.last_error).toBe(
      `Failed to prepare to deploy: Validation of image href ${missing} failed, reason: Got HTTP code 404 instead of 200 in response to HEAD request.`,
    );
    expect(failed.target_provision_state).toBe('active');
    await api('PATCH', '/v1/nodes/rf', [
      { op: 'replace', path: '/instance_info/image_source', value: image.url },
    ]);
    await api('PUT', '/v1/nodes/rf/states/provision', { target: 'active' });
    const active = await until('active');
    expect(active.power_state).toBe('power on');
    expect(peer.boot).toMatchObject({
      BootSourceOverrideTarget: 'Hdd',
      BootSourceOverrideEnabled: 'Continuous',
    });
    expect(peer.events.map((e) => `${e.power}:${e.bootTarget}`)).toEqual(['On:Pxe', 'Off:Hdd', 'On:Hdd']);
    expect(agents[0]!.received).toEqual([
      'deploy.get_deploy_steps',
      'deploy.execute_deploy_step',
      'standby.get_partition_uuids',
      'standby.power_off',
    ]);
    await api('PUT', '/v1/nodes/rf/states/provision', { target: 'deleted' });
    expect((await until('available')).power_state).toBe('power off');
  }, 30_000);
});
