import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryFetcher, LeasePool, writeIronicBootFiles } from '../../../network-boot/src/index.ts';
import { defaultMachineSpec } from '../machine.ts';
import { SimFleet, simUuid } from './fleet.ts';
import type { RamdiskBoot } from './machine.ts';
import { createSimBootNetwork } from './network.ts';

const N = 1000;
const HTTP = 'http://10.77.0.1:8080';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bmlab-fleet-'));
  for (let i = 0; i < N; i++) {
    await writeIronicBootFiles(root, {
      uuid: simUuid(i),
      macs: [defaultMachineSpec(i).nics[0]!.mac],
      httpUrl: HTTP,
      apiUrl: 'http://10.77.0.1:6385',
    });
  }
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('SimFleet', () => {
  it(`powers on and PXE-boots ${N} nodes in one process, each to its own ramdisk`, async () => {
    const booted = new Map<string, RamdiskBoot>();
    let done: () => void;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const fleet = new SimFleet({
      count: N,
      timeScale: 0.001,
      seed: 3,
      network: createSimBootNetwork({
        policy: { nextServer: '10.77.0.1', scriptUrl: `${HTTP}/boot.ipxe` },
        pool: new LeasePool({ range: ['10.77.0.10', '10.77.7.250'] }),
        fetcher: directoryFetcher({ http: [{ urlPrefix: `${HTTP}/`, dir: root }] }),
      }),
      nicRom: 'ipxe',
    });
    // set after construction, as a lab wires its agent runner once the fleet exists
    fleet.setRamdiskHook((b) => {
      booted.set(b.machine.id, b);
      if (booted.size === N) done();
    });
    for (const m of fleet.machines) m.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
    await fleet.powerOnAll();
    await all;
    expect(fleet.machines.every((m) => m.runState() === 'ramdisk')).toBe(true);
    // every node got its own config (BOOTIF is its own MAC) and its own address
    for (const m of fleet.machines) {
      const b = booted.get(m.id)!;
      expect(b.kernelArgs['BOOTIF']).toBe(m.spec.nics[0]!.mac);
      expect(b.kernelUrl).toBe(`${HTTP}/${simUuid(fleet.machines.indexOf(m))}/deploy_kernel`);
    }
    expect(new Set([...booted.values()].map((b) => b.ip)).size).toBe(N);
    await fleet.powerOffAll();
    expect(fleet.machines.every((m) => m.powerState() === 'off')).toBe(true);
  });
});
