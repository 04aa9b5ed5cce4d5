/**
 * QemuMachine's power and boot-order logic against testing/fake-qemu.mjs, a process that speaks QMP
 * like QEMU 7.2 and prints the boot order it would give the firmware. Real QEMU runs in test/qemu/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MachineEvent, MachineSpec } from '../machine.ts';
import { QemuMachine, type QemuMachineOptions } from './machine.ts';

const FAKE = fileURLToPath(new URL('testing/fake-qemu.mjs', import.meta.url));

const spec: MachineSpec = {
  name: 'fake-0',
  cpus: 1,
  memoryMiB: 256,
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

describe('QemuMachine (fake QEMU)', () => {
  let dir: string;
  let machine: QemuMachine;
  let events: MachineEvent[];

  const make = (
    extra: Partial<QemuMachineOptions> = {},
    knobs: Record<string, unknown> = {},
  ): QemuMachine => {
    process.env['FAKE_QEMU'] = JSON.stringify(knobs);
    machine = new QemuMachine({
      spec,
      dir,
      network: { mode: 'user' },
      qemuBinary: FAKE,
      qemuImgBinary: FAKE,
      accel: 'tcg',
      skipIpxeBanner: false,
      ...extra,
    });
    events = [];
    machine.subscribe((e) => events.push(e));
    return machine;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bmlab-fakeqemu-'));
  });

  afterEach(async () => {
    await machine?.powerOff();
    delete process.env['FAKE_QEMU'];
    await rm(dir, { recursive: true, force: true });
  });

  it('powers on with the override first, consumes a one-time override, and powers off with quit', async () => {
    make();
    machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
    expect(machine.powerState()).toBe('off');
    await machine.powerOn();
    expect(machine.powerState()).toBe('on');
    await machine.serial.waitFor(/boot: nic0 disk0/, 5000);
    expect(machine.bootOverride()).toEqual({ device: 'none', persistent: false, mode: 'bios' });
    expect(existsSync(machine.diskPath(0))).toBe(true);
    expect(events).toEqual([
      { type: 'boot-override-cleared', reason: 'consumed' },
      { type: 'power', state: 'on', cause: 'command' },
      { type: 'post' },
      { type: 'boot-source', device: 'pxe', override: true },
    ]);
    const pid = machine.pid ?? 0;
    await machine.powerOff();
    expect(machine.powerState()).toBe('off');
    expect(alive(pid)).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'command' });
    await machine.powerOff(); // idempotent
  });

  it('kills QEMU when it ignores quit', async () => {
    make({ quitTimeoutMs: 200 }, { ignoreQuit: true });
    await machine.powerOn();
    const pid = machine.pid ?? 0;
    const t0 = Date.now();
    await machine.powerOff();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(machine.powerState()).toBe('off');
    expect(alive(pid)).toBe(false);
  });

  it('reports soft off accepted only when the guest powers off', async () => {
    make({ softOffTimeoutMs: 300 });
    await machine.powerOn();
    expect(await machine.softOff()).toEqual({ accepted: false });
    expect(machine.powerState()).toBe('on');
    await machine.powerOff();
    expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'command' });

    make({ softOffTimeoutMs: 2000 }, { acpi: true });
    await machine.powerOn();
    expect(await machine.softOff()).toEqual({ accepted: true });
    expect(machine.powerState()).toBe('off');
    expect(events.at(-1)).toEqual({ type: 'power', state: 'off', cause: 'soft-off' });
  });

  it('switches the boot device on reset with qom-set in the order QEMU accepts, in the same process', async () => {
    make();
    await machine.powerOn();
    await machine.serial.waitFor(/boot: disk0 nic0/, 5000);
    const pid = machine.pid;
    machine.setBootOverride({ device: 'pxe', persistent: true, mode: 'bios' });
    const from = machine.serial.offset;
    await machine.reset();
    await machine.serial.waitFor(/boot: nic0 disk0/, 5000, from);
    expect(machine.pid).toBe(pid);
    expect(await machine.qmp('qom-get', { path: '/machine/peripheral/disk0', property: 'bootindex' })).toBe(
      2,
    );
    expect(events.slice(-2)).toEqual([
      { type: 'post' },
      { type: 'boot-source', device: 'pxe', override: true },
    ]);
    // persistent: still set, and a reset with no change sends no qom-set (the order stays)
    expect(machine.bootOverride().device).toBe('pxe');
    const from2 = machine.serial.offset;
    await machine.reset();
    await machine.serial.waitFor(/boot: nic0 disk0/, 5000, from2);
  });

  it('restarts the process on reset when the firmware mode changes (SeaBIOS ↔ OVMF)', async () => {
    const vars = join(dir, 'vars-template.fd');
    await writeFile(vars, 'nvram');
    make({ ovmf: { code: '/firmware/OVMF_CODE.fd', vars } });
    await machine.powerOn();
    const pid = machine.pid;
    machine.setBootOverride({ device: 'none', persistent: false, mode: 'uefi' });
    events.length = 0;
    await machine.reset();
    expect(machine.powerState()).toBe('on');
    expect(machine.pid).not.toBe(pid);
    expect(readFileSync(`/proc/${machine.pid}/cmdline`, 'utf8')).toContain('file=/firmware/OVMF_CODE.fd');
    expect(readFileSync(join(dir, 'OVMF_VARS.fd'), 'utf8')).toBe('nvram');
    expect(events).toEqual([
      { type: 'power', state: 'off', cause: 'reset' },
      { type: 'power', state: 'on', cause: 'command' },
      { type: 'post' },
      { type: 'boot-source', device: 'disk', override: false },
    ]);
  });

  it('turns console lines into boot events, each line once', async () => {
    make();
    await machine.powerOn();
    await machine.diagnosticInterrupt();
    await machine.serial.waitFor(/Kernel panic/, 5000);
    await new Promise((r) => setImmediate(r));
    expect(events.filter((e) => e.type === 'nmi' || e.type === 'boot-failed')).toEqual([
      { type: 'nmi' },
      { type: 'boot-failed', reason: 'kernel panic' },
    ]);
  });

  it('reads off as soon as QEMU dies on its own', async () => {
    make();
    await machine.powerOn();
    const pid = machine.pid ?? 0;
    const off = new Promise<MachineEvent>((resolve) =>
      machine.subscribe((e) => {
        if (e.type === 'power') resolve(e);
      }),
    );
    process.kill(pid, 'SIGKILL');
    expect(await off).toEqual({ type: 'power', state: 'off', cause: 'exited' });
    expect(machine.powerState()).toBe('off');
    await expect(machine.qmp('query-status')).rejects.toMatchObject({ code: 'ERR_POWERED_OFF' });
  });

  it('fails power on with QEMU stderr when QEMU cannot start, and stays off', async () => {
    make({}, { failStart: "-device virtio-net-pci: Bus 'pcie.0' not found" });
    await expect(machine.powerOn()).rejects.toMatchObject({
      code: 'ERR_QEMU_START',
      message: expect.stringContaining("Bus 'pcie.0' not found"),
    });
    expect(machine.powerState()).toBe('off');
    expect(events.filter((e) => e.type === 'power')).toEqual([]);
  });

  it('passes serial output to console streams and keystrokes back', async () => {
    make();
    const stream = machine.openConsole();
    let seen = '';
    stream.on('data', (c: Buffer) => {
      seen += c.toString();
    });
    await machine.powerOn();
    await machine.serial.waitFor(/SeaBIOS/, 5000);
    await new Promise((r) => setImmediate(r));
    expect(seen).toContain('SeaBIOS (fake)');
    stream.end();
  });
});
