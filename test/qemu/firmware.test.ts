/**
 * Acceleration and firmware choices against real QEMU: `auto` only picks KVM when the probe gets past
 * the iPXE ROM, and UEFI (Debian's OVMF with iPXE's EFI driver) network-boots the same agent ramdisk.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MachineSpec } from '../../vm-fleet/src/index.ts';
import {
  customizeDeployImage,
  DEPLOYED_MARKER,
  ensureImages,
  probeKvm,
  QemuMachine,
} from '../../vm-fleet/src/qemu/index.ts';
import { LabServer } from './lab-server.ts';

const spec = (name: string): MachineSpec => ({
  name,
  cpus: 1,
  memoryMiB: 256,
  arch: 'x86_64',
  nics: [{ mac: '52:54:00:00:01:00' }],
  disks: [],
  bootOrder: ['pxe'],
});

describe('QEMU acceleration and firmware', () => {
  let dir: string;
  let lab: LabServer;
  let machine: QemuMachine | undefined;
  let deployImage: string;

  beforeAll(async () => {
    const images = await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-fw-'));
    lab = new LabServer('fw');
    lab.files = { '/vmlinuz': images.kernel, '/initrd.gz': images.agentInitrd };
    await lab.start();
    deployImage = join(dir, 'deploy.img');
    await customizeDeployImage(images.deployImage, deployImage, `bmlab.url=${lab.guestUrl}`);
  });

  afterEach(async () => {
    await machine?.powerOff();
  });

  afterAll(async () => {
    await lab?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('auto acceleration runs KVM only if the probe gets past the iPXE ROM, and the machine boots', async () => {
    const kvm = await probeKvm();
    machine = new QemuMachine({
      spec: spec('auto'),
      dir: join(dir, 'auto'),
      network: { mode: 'user', bootFile: `${lab.guestUrl}/boot.ipxe` },
      accel: 'auto',
    });
    const t0 = Date.now();
    await machine.powerOn();
    const argv = readFileSync(`/proc/${machine.pid}/cmdline`, 'utf8').split('\0');
    expect(argv[argv.indexOf('-accel') + 1]).toBe(kvm ? 'kvm' : 'tcg,tb-size=32');
    console.log(`KVM probe: ${kvm ? 'usable' : 'stuck in the iPXE ROM → TCG'}`);
    await lab.waitHome((q) => q['role'] === 'agent', t0, 60_000);
  });

  it('UEFI mode boots OVMF, whose iPXE EFI driver network-boots the agent ramdisk', async () => {
    machine = new QemuMachine({
      spec: spec('uefi'),
      dir: join(dir, 'uefi'),
      network: { mode: 'user', bootFile: `${lab.guestUrl}/boot.ipxe` },
      accel: 'tcg',
    });
    machine.setBootOverride({ device: 'pxe', persistent: true, mode: 'uefi' });
    const t0 = Date.now();
    await machine.powerOn();
    const argv = readFileSync(`/proc/${machine.pid}/cmdline`, 'utf8');
    expect(argv).toContain('OVMF_CODE_4M.fd');
    const home = await lab.waitHome((q) => q['role'] === 'agent', t0, 90_000);
    console.log(`UEFI power on → agent phone-home: ${((home.at - t0) / 1000).toFixed(2)} s`);
    expect(machine.serial.text()).toMatch(/EFI stub|efi: EFI v/);
  });

  it('UEFI mode boots the deploy image from a qcow2 overlay through its \\EFI\\BOOT\\BOOTX64.EFI', async () => {
    machine = new QemuMachine({
      spec: {
        ...spec('uefi-disk'),
        disks: [{ name: 'vda', sizeBytes: 64 * 1024 ** 2 }],
        bootOrder: ['disk'],
      },
      dir: join(dir, 'uefi-disk'),
      network: { mode: 'user' },
      diskBacking: [deployImage],
      accel: 'tcg',
    });
    machine.setBootOverride({ device: 'disk', persistent: true, mode: 'uefi' });
    const t0 = Date.now();
    await machine.powerOn();
    await machine.serial.waitFor(new RegExp(DEPLOYED_MARKER), 90_000);
    const home = await lab.waitHome((q) => q['role'] === 'deployed', t0, 30_000);
    console.log(`UEFI power on → deployed image phone-home: ${((home.at - t0) / 1000).toFixed(2)} s`);
    expect(machine.serial.text()).toMatch(/BdsDxe: starting Boot\d+/);
  });
});
