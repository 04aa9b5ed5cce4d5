/**
 * A qemu node's machine state in the lab state store, against vm-fleet's fake QEMU (a process that
 * speaks QMP and prints the boot order it would give the firmware; real QEMU runs in test/qemu/):
 * the snapshot has the sim machine's shape, every change is reported, and after a restart the node
 * gets back its boot override and disks and powers on again per its BMC's power restore policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bmc, BmcEndpoint, createBmcState } from '../../../bmc-emulator/src/index.ts';
import { type MachineSpec, QemuMachine } from '../../../vm-fleet/src/index.ts';
import { LabState, type PersistedNode } from './persist.ts';

const FAKE = fileURLToPath(new URL('../../../vm-fleet/src/qemu/testing/fake-qemu.mjs', import.meta.url));

const spec: MachineSpec = {
  name: 'q-0',
  cpus: 1,
  memoryMiB: 256,
  arch: 'x86_64',
  nics: [{ mac: '52:54:00:00:00:10' }],
  disks: [{ name: 'vda', sizeBytes: 1024 ** 3 }],
  bootOrder: ['pxe', 'disk'],
};

let dir: string;
const open: { machine: QemuMachine; endpoint: BmcEndpoint }[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bmlab-qstate-'));
  process.env['FAKE_QEMU'] = '{}';
});
afterEach(async () => {
  for (const n of open.splice(0)) {
    await n.machine.powerOff();
    await n.endpoint.close();
  }
  delete process.env['FAKE_QEMU'];
  rmSync(dir, { recursive: true, force: true });
});

function machine(): QemuMachine {
  return new QemuMachine({
    spec,
    dir: join(dir, 'qemu', spec.name),
    network: { mode: 'user' },
    qemuBinary: FAKE,
    qemuImgBinary: FAKE,
    accel: 'tcg',
  });
}

/** A qemu node as the lab builds it: the machine, its BMC and endpoint. */
async function node(): Promise<PersistedNode & { machine: QemuMachine }> {
  const m = machine();
  const bmc = new Bmc({ state: createBmcState({ name: spec.name, address: '127.0.0.1' }), machine: m });
  const endpoint = await BmcEndpoint.listen(bmc, { address: '127.0.0.1', port: 0 });
  open.push({ machine: m, endpoint });
  return { name: spec.name, index: 0, machine: m, bmc, endpoint, agentFaults: undefined };
}

describe('QemuMachine state', () => {
  it("has the sim machine's snapshot shape and reports each change", async () => {
    const m = machine();
    open.push({ machine: m, endpoint: { close: async () => {} } as BmcEndpoint });
    let changes = 0;
    m.onChange(() => changes++);
    expect(m.snapshot()).toEqual({
      power: 'off',
      override: { device: 'none', persistent: false, mode: 'bios' },
      disks: { vda: null },
      lastBootDevice: null,
      poweredOnMinutes: 0,
    });
    m.setBootOverride({ device: 'disk', persistent: true, mode: 'bios' });
    expect(changes).toBe(1);
    m.disks[0]?.write({ os: 'deploy', sizeBytes: 4096, checksum: 'abc' });
    expect(changes).toBe(2);
    await m.powerOn();
    expect(changes).toBeGreaterThan(2);
    const on = m.snapshot();
    expect(on).toMatchObject({
      power: 'on',
      override: { device: 'disk', persistent: true, mode: 'bios' },
      disks: { vda: { os: 'deploy', sizeBytes: 4096, checksum: 'abc' } },
    });
    const before = changes;
    await m.powerOff();
    expect(changes).toBeGreaterThan(before);
    expect(m.snapshot().power).toBe('off');

    // A fresh machine takes the snapshot back, as JSON (how the store keeps it).
    const again = machine();
    again.restore(JSON.parse(JSON.stringify(on)));
    expect(again.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'bios' });
    expect(again.disks[0]?.contents()).toMatchObject({ os: 'deploy', checksum: 'abc' });
    expect(again.powerState()).toBe('off'); // power is the BMC's restore policy, not restore()
    expect(() => again.restore({ power: 'off' } as never)).toThrow(/lacks a boot override/);
  });

  it('restore refuses a running machine', async () => {
    const m = machine();
    open.push({ machine: m, endpoint: { close: async () => {} } as BmcEndpoint });
    await m.powerOn();
    expect(() => m.restore(m.snapshot())).toThrow(/needs the machine off/);
  });

  it('a node that was on comes back on after a restart, booting per its restored persistent override', async () => {
    const file = join(dir, 'lab.sqlite');
    const a = await node();
    const first = LabState.open(file);
    expect(first.attach([a])).toEqual([]);
    a.machine.setBootOverride({ device: 'disk', persistent: true, mode: 'bios' });
    await a.machine.powerOn();
    await a.machine.serial.waitFor(/boot: disk0 nic0/, 5000);
    first.close(); // the lab stops: state first, then the machines
    await a.machine.powerOff();

    const b = await node();
    const second = LabState.open(file);
    const comeBack = second.attach([b]);
    expect(comeBack).toEqual([b]);
    expect(b.machine.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'bios' });
    await second.powerOnRestored(comeBack);
    expect(b.machine.powerState()).toBe('on');
    await b.machine.serial.waitFor(/boot: disk0 nic0/, 5000);
    expect(b.bmc.state.restartCause).toBe(0x07); // AC applied, power restore policy "previous"
    expect(b.machine.bootOverride().persistent).toBe(true);
    second.close();
  });

  it('a node that was off stays off', async () => {
    const file = join(dir, 'lab.sqlite');
    const a = await node();
    const first = LabState.open(file);
    first.attach([a]);
    a.machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'uefi' });
    first.close();

    const b = await node();
    const second = LabState.open(file);
    expect(second.attach([b])).toEqual([]);
    expect(b.machine.powerState()).toBe('off');
    expect(b.machine.bootOverride()).toEqual({ device: 'pxe', persistent: false, mode: 'uefi' });
    second.close();
  });
});
