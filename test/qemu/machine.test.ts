/**
 * The qemu backend against real QEMU under TCG, one VM at a time: PXE through the NIC's iPXE ROM to the
 * agent ramdisk, a real `wget | dd` deploy, power off, disk boot of the deployed image, a reset that
 * switches boot device with qom-set, ACPI soft off. The ramdisk's inventory report is measured in the
 * guest and must equal the VM's configuration (-smp, -m, disk size, MAC).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryFromGuestReport, parseGuestReport } from '../../agent/src/index.ts';
import type { MachineEvent, MachineSpec } from '../../vm-fleet/src/index.ts';
import {
  customizeDeployImage,
  DEPLOYED_MARKER,
  ensureImages,
  QemuMachine,
} from '../../vm-fleet/src/qemu/index.ts';
import { LabServer } from './lab-server.ts';

const spec: MachineSpec = {
  name: 'qemu-0',
  cpus: 2,
  memoryMiB: 384,
  arch: 'x86_64',
  nics: [{ mac: '52:54:00:00:00:00' }],
  disks: [{ name: 'vda', sizeBytes: 1024 ** 3 }],
  bootOrder: ['disk', 'pxe'],
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('QemuMachine (real QEMU, TCG, user networking)', () => {
  let dir: string;
  let lab: LabServer;
  let machine: QemuMachine;
  const events: MachineEvent[] = [];

  beforeAll(async () => {
    const images = await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-test-'));
    lab = new LabServer(spec.name);
    await lab.start();
    // The deploy image phones home to this lab's port, which only exists now.
    const disk = join(dir, 'disk.img');
    await customizeDeployImage(images.deployImage, disk, `bmlab.url=${lab.guestUrl}`);
    lab.files = { '/vmlinuz': images.kernel, '/initrd.gz': images.agentInitrd, '/disk.img': disk };
    machine = new QemuMachine({
      spec,
      dir: join(dir, spec.name),
      network: { mode: 'user', bootFile: `${lab.guestUrl}/boot.ipxe` },
      accel: 'tcg',
    });
    machine.subscribe((e) => events.push(e));
  });

  afterAll(async () => {
    await machine?.powerOff();
    await lab?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('PXE-boots through iPXE to the agent ramdisk on a one-time override, writes through the relay, and powers off hard', async () => {
    lab.boot = { mode: 'agent' };
    machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
    const t0 = Date.now();
    await machine.powerOn();
    expect(machine.powerState()).toBe('on');
    expect(machine.bootOverride().device).toBe('none'); // consumed by this boot
    const home = await lab.waitHome((q) => q['role'] === 'agent' && q['event'] === 'up', t0, 60_000);
    console.log(`power on → agent phone-home: ${((home.at - t0) / 1000).toFixed(2)} s`);
    expect(home.query).toMatchObject({ id: 'qemu-0', mac: '52:54:00:00:00:00', ip: '10.0.2.15' });
    // In-band inspection's numbers, measured by the guest, equal the VM's -smp, -m, disk and NIC.
    const report = parseGuestReport(home.body);
    expect(report.cmdline).toContain('bmlab.id=qemu-0');
    const inv = inventoryFromGuestReport(report, { hostname: spec.name });
    expect(inv.cpu.count).toBe(spec.cpus);
    expect(inv.cpu.architecture).toBe('x86_64');
    expect(inv.cpu.flags).toContain('lm');
    expect(inv.memory.physical_mb).toBe(spec.memoryMiB);
    expect(inv.memory.total).toBeGreaterThan(spec.memoryMiB * 1024 * 1024 * 0.8); // minus what the kernel keeps
    expect(inv.memory.total).toBeLessThan(spec.memoryMiB * 1024 * 1024);
    expect(inv.disks).toEqual([
      expect.objectContaining({ name: '/dev/vda', size: 1024 ** 3, serial: 'qemu-0-disk0' }),
    ]);
    expect(inv.interfaces).toEqual([
      expect.objectContaining({
        mac_address: spec.nics[0]?.mac,
        has_carrier: true,
        ipv4_address: '10.0.2.15',
      }),
    ]);
    const console_ = machine.serial.text();
    expect(console_).toMatch(/iPXE/);
    expect(console_).toMatch(/Linux version 6\.1/);
    expect(lab.requests.map((r) => r.path).slice(0, 3)).toEqual(['/boot.ipxe', '/vmlinuz', '/initrd.gz']);
    expect(events).toContainEqual({ type: 'boot-source', device: 'pxe', override: true });
    expect(events).toContainEqual({ type: 'os-reached', os: 'agent-ramdisk' });

    // The relay the host-side agent drives: a real `wget | dd` of the image onto the virtio disk.
    const t1 = Date.now();
    lab.relay.push(`write ${lab.guestUrl}/disk.img`);
    const written = await lab.waitHome((q) => q['event'] === 'written', t1, 60_000);
    expect(written.query['rc']).toBe('0');
    expect(machine.serial.text()).toMatch(/bmlab: write finished rc=0/);

    const pid = machine.pid;
    expect(pid).toBeTypeOf('number');
    await machine.powerOff();
    expect(machine.powerState()).toBe('off');
    expect(alive(pid ?? 0)).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'command' });
  });

  it('deploys an image with a real dd, the guest powers itself off, then the disk boots it', async () => {
    lab.boot = { mode: 'deploy' };
    machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
    const t0 = Date.now();
    await machine.powerOn();
    const written = await lab.waitHome((q) => q['event'] === 'written', t0, 90_000);
    expect(written.query['rc']).toBe('0');
    // `poweroff -f` in the guest ends the QEMU process: the machine reads off without anyone asking.
    const deadline = Date.now() + 20_000;
    while (machine.powerState() === 'on' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(machine.powerState()).toBe('off');
    expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'guest' });

    // No override: the machine's own order starts with the disk, which now holds the image.
    const t1 = Date.now();
    const from = machine.serial.offset;
    await machine.powerOn();
    await machine.serial.waitFor(new RegExp(DEPLOYED_MARKER), 60_000, from);
    const home = await lab.waitHome((q) => q['role'] === 'deployed', t1, 30_000);
    console.log(`power on → deployed image phone-home: ${((home.at - t1) / 1000).toFixed(2)} s`);
    expect(machine.serial.text(from)).toMatch(/SYSLINUX/);
    // The machine emits the event when the marker's console line is complete (it scans whole lines);
    // the serial port delivers the line in pieces, so its end may still be on the way here.
    const seen = () => events.some((e) => e.type === 'os-reached' && e.os === 'deployed-image');
    const until = Date.now() + 30_000;
    while (!seen() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(events).toContainEqual({ type: 'os-reached', os: 'deployed-image' });
  });

  it('a reset after a boot device change boots the new device (qom-set bootindex + system_reset)', async () => {
    expect(machine.powerState()).toBe('on'); // still running the deployed image
    lab.boot = { mode: 'agent' };
    const pid = machine.pid;
    machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
    const t0 = Date.now();
    const from = machine.serial.offset;
    await machine.reset();
    await lab.waitHome((q) => q['role'] === 'agent', t0, 60_000);
    expect(machine.serial.text(from)).toMatch(/iPXE/);
    expect(machine.pid).toBe(pid); // the same process: QEMU was not restarted
    expect(await machine.qmp('qom-get', { path: '/machine/peripheral/nic0', property: 'bootindex' })).toBe(1);

    // The one-time override is spent: the next reset goes back to the disk.
    const t1 = Date.now();
    const from2 = machine.serial.offset;
    await machine.reset();
    await machine.serial.waitFor(new RegExp(DEPLOYED_MARKER), 60_000, from2);
    await lab.waitHome((q) => q['role'] === 'deployed', t1, 30_000);
    expect(await machine.qmp('qom-get', { path: '/machine/peripheral/disk0', property: 'bootindex' })).toBe(
      1,
    );
  });

  it('soft off is accepted because the image handles the ACPI button; the process exits', async () => {
    const pid = machine.pid ?? 0;
    const result = await machine.softOff();
    expect(result).toEqual({ accepted: true });
    expect(machine.powerState()).toBe('off');
    expect(alive(pid)).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'soft-off' });
  });
});
