/**
 * A real QEMU machine behind a virtual BMC, driven by real ipmitool as Ironic drives a server:
 * `chassis bootdev pxe` + `power on` really network-boots the VM into the agent ramdisk, `power off`
 * ends the process and `power status` says so, a deploy written by the ramdisk boots from disk after
 * `chassis bootdev disk options=persistent`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bmc, BmcEndpoint, createBmcState } from '../../bmc-emulator/src/index.ts';
import type { MachineSpec } from '../../vm-fleet/src/index.ts';
import {
  customizeDeployImage,
  DEPLOYED_MARKER,
  ensureImages,
  QemuMachine,
} from '../../vm-fleet/src/qemu/index.ts';
import { hasCommand, ipmitool } from '../support/bmc.ts';
import { LabServer } from './lab-server.ts';

const spec: MachineSpec = {
  name: 'qemu-bmc-0',
  cpus: 1,
  memoryMiB: 256,
  arch: 'x86_64',
  nics: [{ mac: '52:54:00:00:0a:00' }],
  disks: [{ name: 'vda', sizeBytes: 1024 ** 3 }],
  bootOrder: ['disk', 'pxe'],
};

describe.skipIf(!hasCommand('ipmitool'))('a QEMU machine behind a virtual BMC, driven by ipmitool', () => {
  let dir: string;
  let lab: LabServer;
  let machine: QemuMachine;
  let endpoint: BmcEndpoint;
  let port: number;

  beforeAll(async () => {
    const images = await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-bmc-'));
    lab = new LabServer(spec.name);
    await lab.start();
    const disk = join(dir, 'disk.img');
    await customizeDeployImage(images.deployImage, disk, `bmlab.url=${lab.guestUrl}`);
    lab.files = { '/vmlinuz': images.kernel, '/initrd.gz': images.agentInitrd, '/disk.img': disk };
    machine = new QemuMachine({
      spec,
      dir: join(dir, spec.name),
      network: { mode: 'user', bootFile: `${lab.guestUrl}/boot.ipxe` },
      accel: 'tcg',
    });
    endpoint = await BmcEndpoint.listen(new Bmc({ state: createBmcState({ name: spec.name }), machine }), {
      address: '127.0.0.1',
      port: 0,
    });
    port = endpoint.address.port;
  });

  afterAll(async () => {
    await endpoint?.close();
    await machine?.powerOff();
    await lab?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('bootdev pxe + power on network-boots the VM into the ramdisk; power off ends the process', async () => {
    lab.boot = { mode: 'agent' };
    expect((await ipmitool(port, ['raw', '0x00', '0x08', '0x03', '0x08'])).ok).toBe(true);
    expect((await ipmitool(port, ['chassis', 'bootdev', 'pxe'])).out).toContain('Set Boot Device to pxe');
    const t0 = Date.now();
    expect((await ipmitool(port, ['power', 'on'])).out).toContain('Chassis Power Control: Up/On');
    const home = await lab.waitHome((q) => q['role'] === 'agent' && q['event'] === 'up', t0, 90_000);
    console.log(`ipmitool power on → ramdisk phone-home: ${((home.at - t0) / 1000).toFixed(2)} s`);
    expect(home.query).toMatchObject({ mac: '52:54:00:00:0a:00' });
    expect((await ipmitool(port, ['power', 'status'])).out).toContain('Chassis Power is on');
    // The one-time PXE override was used by this boot.
    expect((await ipmitool(port, ['chassis', 'bootparam', 'get', '5'])).out).toContain('No override');

    expect((await ipmitool(port, ['power', 'off'])).out).toContain('Chassis Power Control: Down/Off');
    expect(machine.powerState()).toBe('off');
    expect((await ipmitool(port, ['power', 'status'])).out).toContain('Chassis Power is off');
  }, 150_000);

  it('a deploy the ramdisk writes boots from disk after bootdev disk persistent', async () => {
    lab.boot = { mode: 'deploy' };
    await ipmitool(port, ['chassis', 'bootdev', 'pxe']);
    const t0 = Date.now();
    await ipmitool(port, ['power', 'on']);
    await lab.waitHome((q) => q['event'] === 'written', t0, 120_000);
    // The ramdisk powers the machine off itself (as IPA's standby.power_off does); the BMC sees it.
    for (let i = 0; i < 100 && machine.powerState() === 'on'; i++)
      await new Promise((r) => setTimeout(r, 200));
    expect((await ipmitool(port, ['power', 'status'])).out).toContain('Chassis Power is off');

    expect((await ipmitool(port, ['chassis', 'bootdev', 'disk', 'options=persistent'])).ok).toBe(true);
    const from = machine.serial.offset;
    const t1 = Date.now();
    await ipmitool(port, ['power', 'on']);
    await machine.serial.waitFor(new RegExp(DEPLOYED_MARKER), 90_000, from);
    const home = await lab.waitHome((q) => q['role'] === 'deployed', t1, 60_000);
    console.log(`ipmitool power on → deployed image phone-home: ${((home.at - t1) / 1000).toFixed(2)} s`);
    const got = (await ipmitool(port, ['chassis', 'bootparam', 'get', '5'])).out;
    expect(got).toContain('Force Boot from default Hard-Drive');
    expect(got).toContain('Options apply to all future boots');
  }, 240_000);
});
