/**
 * The whole lab in one process, driven only through mock Ironic's public REST API: enroll with
 * IPMI driver info, manage (real ipmitool against the virtual BMC), provide, deploy (PXE boot of
 * the sim machine into the agent ramdisk, write_image, power off, boot from disk), undeploy.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../lab/src/index.ts';
import { hasCommand } from '../support/bmc.ts';

describe.skipIf(!hasCommand('ipmitool'))('a lab with mock Ironic deploys a sim node end to end', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start({
      nodes: 2,
      timeScale: 0.01,
      mockIronic: { minCommandInterval: 0 },
      agent: { heartbeatIntervalMs: 300 },
    });
  });
  afterAll(async () => {
    await lab.stop();
  });

  it('enroll → manage → provide → deploy → active (booted from disk) → undeploy → available', async () => {
    const api = lab.ironicUrl as string;
    const headers = { 'Content-Type': 'application/json', 'X-OpenStack-Ironic-API-Version': '1.82' };
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(api + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      expect(r.status, `${method} ${path}: ${text}`).toBeLessThan(400);
      return text === '' ? undefined : JSON.parse(text);
    };
    mkdirSync(join(lab.httpRoot, 'images'), { recursive: true });
    const image = Buffer.alloc(1 << 20, 7);
    writeFileSync(join(lab.httpRoot, 'images/disk.raw'), image);
    writeFileSync(join(lab.httpRoot, 'images/kernel'), 'kernel');
    writeFileSync(join(lab.httpRoot, 'images/ramdisk'), 'ramdisk');
    const n = lab.nodes[1];
    if (n === undefined) throw new Error('no node');
    const node = await call('POST', '/v1/nodes', {
      name: n.name,
      driver: 'ipmi',
      boot_interface: 'ipxe',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: n.endpoint.address.port,
        ipmi_username: 'admin',
        ipmi_password: 'password',
        deploy_kernel: `${lab.httpUrl}/images/kernel`,
        deploy_ramdisk: `${lab.httpUrl}/images/ramdisk`,
      },
      properties: { cpu_arch: 'x86_64', cpus: 2, memory_mb: 4096, local_gb: 19 },
    });
    await call('POST', '/v1/ports', { address: n.machine.spec.nics[0]?.mac, node_uuid: node.uuid });
    const seen: string[] = [];
    const waitFor = async (state: string) => {
      for (let i = 0; i < 600; i++) {
        const x = await call('GET', `/v1/nodes/${node.uuid}`);
        if (seen.at(-1) !== x.provision_state) seen.push(x.provision_state);
        if (x.provision_state === state && x.target_provision_state === null) return x;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`never reached ${state}: ${seen.join(' → ')}`);
    };
    const provision = (target: string) => call('PUT', `/v1/nodes/${node.uuid}/states/provision`, { target });

    await provision('manage');
    await waitFor('manageable');
    await provision('provide');
    await waitFor('available');
    await call('PATCH', `/v1/nodes/${node.uuid}`, [
      {
        op: 'add',
        path: '/instance_info',
        value: {
          image_source: `${lab.httpUrl}/images/disk.raw`,
          image_checksum: createHash('md5').update(image).digest('hex'),
          image_disk_format: 'raw',
        },
      },
    ]);
    await provision('active');
    const active = await waitFor('active');
    expect(active.power_state).toBe('power on');
    // The machine booted the image the agent wrote, from its own disk.
    const written = `sha256:${createHash('sha256').update(image).digest('hex')}`;
    expect(n.machine.disks[0]?.contents()?.checksum).toBe(written);
    // Ironic reports active once it has powered the machine on; the OS comes up after POST.
    await n.machine.serial.waitFor(new RegExp(`bmlab-deployed-image ${written.slice(7, 19)} up`), 10_000);
    expect(n.machine.bootOverride()).toMatchObject({ device: 'disk', persistent: true });
    expect(n.agentBoots).toBe(1);
    expect(n.agent).toBeUndefined(); // the ramdisk is gone

    await provision('deleted');
    await waitFor('available');
    expect(n.machine.powerState()).toBe('off');
    expect(seen).toContain('wait call-back');
    // The other node was never touched.
    expect(lab.nodes[0]?.machine.powerState()).toBe('off');
  });
});
