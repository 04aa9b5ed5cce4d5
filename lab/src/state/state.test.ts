/**
 * The lab state store: a node's whole state survives closing and reopening the file (a restart),
 * and a file that is not ours, is damaged or is newer is refused with an error naming it and left
 * as it was.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bmc, BmcEndpoint, createBmcState } from '../../../bmc-emulator/src/index.ts';
import { defaultMachineSpec, SimMachine } from '../../../vm-fleet/src/index.ts';
import { LabState, nodeChanged, type PersistedNode } from './persist.ts';
import { LAB_STATE_SCHEMA_VERSION, LabStateError, LabStateStore } from './store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bmlab-state-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** One node as the lab builds it: a sim machine (instant timings), its BMC and endpoint. */
async function node(
  index = 0,
  now?: () => number,
): Promise<PersistedNode & { machine: SimMachine; close(): Promise<void> }> {
  const spec = defaultMachineSpec(index);
  const machine = new SimMachine({ spec, timeScale: 0.0001, ...(now === undefined ? {} : { now }) });
  const bmc = new Bmc({ state: createBmcState({ name: spec.name, address: '127.0.0.1' }), machine });
  const endpoint = await BmcEndpoint.listen(bmc, { address: '127.0.0.1', port: 0 });
  return {
    name: spec.name,
    index,
    machine,
    bmc,
    endpoint,
    agentFaults: undefined,
    close: async () => {
      await machine.powerOff();
      await endpoint.close();
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('LabState', () => {
  it('puts back users, boot flags, SEL, FRU, LAN/SOL/DCMI, thresholds, faults, disk and power', async () => {
    const file = join(dir, 'lab.sqlite');
    let nowMs = 0; // the machines' power-on hour meter runs on this clock
    const a = await node(0, () => nowMs);
    const first = LabState.open(file);
    expect(first.attach([a])).toEqual([]);
    const s = a.bmc.state;
    Object.assign(s.users[2] as object, { name: 'ops', password: 'secret', enabled: true, privilege: 3 });
    s.hw.sel.entries.push({ id: 7, bytes: [7, 0, 2, 1, 2, 3, 4, 0x20, 0, 4, 1, 1, 1, 0x50, 0x5a, 0x55] });
    s.hw.sel.nextId = 8;
    s.hw.fru = Array.from({ length: 512 }, (_, i) => i & 0xff);
    s.hw.lan.ip = '10.9.8.7';
    s.hw.sol.bitRate = 0x07;
    Object.assign(s.hw.dcmi, { limitWatts: 321, limitSet: true });
    s.hw.thresholds['CPU Temp'] = { unc: 70 };
    // The SEL clock set an hour ahead of the wall clock (Set SEL Time).
    s.hw.selTimeOffset = Math.floor(Date.now() / 1000 + 3600 - performance.now() / 1000);
    s.quirks.bootDeviceNotPersistent = true;
    a.endpoint.setFaults({ latencyMs: 250 });
    a.agentFaults = { heartbeatsStopAfter: 2 };
    nodeChanged(a);
    a.machine.disks[0]?.write({ checksum: 'sha256:abc', sizeBytes: 1 << 20, os: 'bmlab-os' });
    a.machine.setBootOverride({ device: 'disk', persistent: true, mode: 'uefi' });
    await a.machine.powerOn();
    await tick();
    nowMs += 3 * 3_600_000 + 125_000; // 3 h 2 min 5 s on
    first.close();
    const selAtStop = structuredClone(s.hw.sel.entries);
    const nextIdAtStop = s.hw.sel.nextId;

    expect(selAtStop.length).toBeGreaterThan(1); // the added record and the power-on events
    await a.close(); // powering off after close is not recorded: the lab was on when it stopped

    const b = await node();
    const second = LabState.open(file);
    const comeBack = second.attach([b]);
    expect(comeBack.map((n) => n.name)).toEqual([b.name]); // policy "previous" and it was on
    const t = b.bmc.state;
    expect(t.users[2]).toMatchObject({ name: 'ops', password: 'secret', enabled: true, privilege: 3 });
    expect(t.hw.sel.entries).toEqual(selAtStop);
    expect(t.hw.sel.nextId).toBe(nextIdAtStop);
    expect(t.hw.fru).toEqual(s.hw.fru);
    expect(t.hw.lan.ip).toBe('10.9.8.7');
    expect(t.hw.sol.bitRate).toBe(0x07);
    expect(t.hw.dcmi).toMatchObject({ limitWatts: 321, limitSet: true });
    expect(t.hw.thresholds).toEqual({ 'CPU Temp': { unc: 70 } });
    // Still an hour ahead of the wall clock, whatever the new process's clock reads.
    const ahead = (t.hw.selTimeOffset ?? 0) + performance.now() / 1000 - Date.now() / 1000;
    expect(Math.abs(ahead - 3600)).toBeLessThan(3);
    expect(t.quirks.bootDeviceNotPersistent).toBe(true);
    expect(b.endpoint.faults.latencyMs).toBe(250);
    expect(b.agentFaults).toEqual({ heartbeatsStopAfter: 2 });
    expect(b.machine.disks[0]?.contents()).toMatchObject({ checksum: 'sha256:abc', os: 'bmlab-os' });
    expect(b.machine.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'uefi' });
    expect(b.machine.powerState()).toBe('off');
    expect(b.machine.poweredOnMs()).toBe((3 * 60 + 2) * 60_000); // the POH counter, in whole minutes
    await second.powerOnRestored(comeBack);
    expect(b.machine.powerState()).toBe('on');
    expect(t.restartCause).toBe(0x07); // AC applied, "restore previous" policy
    second.close();
    await b.close();
  });

  it('keeps a node off after a restart when its power restore policy is always-off', async () => {
    const file = join(dir, 'lab.sqlite');
    const a = await node();
    const first = LabState.open(file);
    first.attach([a]);
    a.bmc.state.powerRestorePolicy = 0;
    await a.machine.powerOn();
    await tick();
    first.close();
    await a.close();
    const b = await node();
    const second = LabState.open(file);
    expect(second.attach([b])).toEqual([]);
    expect(b.bmc.state.powerRestorePolicy).toBe(0);
    second.close();
    await b.close();
  });

  it('writes a change in the turn it happened in, and only the parts that changed', async () => {
    const file = join(dir, 'lab.sqlite');
    const a = await node();
    const st = LabState.open(file);
    st.attach([a]);
    const read = () =>
      new Database(file, { readonly: true }).prepare('SELECT * FROM nodes').get() as Record<string, string>;
    const before = read();
    a.machine.setBootOverride({ device: 'pxe', persistent: false, mode: 'bios' });
    await tick();
    const after = read();
    expect(JSON.parse(after['machine'] ?? '{}').override).toEqual({
      device: 'pxe',
      persistent: false,
      mode: 'bios',
    });
    expect(after['sel']).toBe(before['sel']);
    expect(after['bmc']).toBe(before['bmc']);
    st.close();
    await a.close();
  });
});

describe('LabStateStore refuses files it must not touch, naming them and leaving them as they are', () => {
  it('a file that is not SQLite', () => {
    const file = join(dir, 'lab.sqlite');
    writeFileSync(file, 'this is not a database, just text long enough to have a header...........');
    const before = readFileSync(file);
    expect(() => LabStateStore.open(file)).toThrow(LabStateError);
    expect(() => LabStateStore.open(file)).toThrow(
      new RegExp(`^${file}: is not a usable lab state database`),
    );
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("another program's SQLite database, and a newer bmlab's", () => {
    const foreign = join(dir, 'other.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE nodes (uuid TEXT)');
    db.close();
    expect(() => LabStateStore.open(foreign)).toThrow(/other\.sqlite: is not a bmlab lab state file/);
    const newer = join(dir, 'newer.sqlite');
    LabStateStore.open(newer).close();
    const n = new Database(newer);
    n.pragma(`user_version = ${LAB_STATE_SCHEMA_VERSION + 1}`);
    n.close();
    expect(() => LabStateStore.open(newer)).toThrow(/newer\.sqlite: was written by a newer bmlab/);
  });

  it('a damaged row: JSON that does not parse', async () => {
    const file = join(dir, 'lab.sqlite');
    const st = LabStateStore.open(file);
    st.putNode('node-0', 0, defaultMachineSpec(0));
    st.write('node-0', { bmc: '{"users": [' });
    st.close();
    const a = await node();
    try {
      expect(() => LabState.open(file).attach([a])).toThrow(
        /lab\.sqlite: node 'node-0' holds data that is not JSON/,
      );
    } finally {
      await a.close();
    }
  });

  it('a snapshot of the wrong shape names the node and the field', async () => {
    const file = join(dir, 'lab.sqlite');
    const st = LabStateStore.open(file);
    st.putNode('node-0', 0, defaultMachineSpec(0));
    st.write('node-0', { bmc: JSON.stringify({ users: [] }) });
    st.close();
    const a = await node();
    try {
      expect(() => LabState.open(file).attach([a])).toThrow(
        /lab\.sqlite: node 'node-0': users: expected 10 user slots/,
      );
    } finally {
      await a.close();
    }
  });

  it('a machine snapshot without its boot override is refused too', async () => {
    const file = join(dir, 'lab.sqlite');
    const st = LabStateStore.open(file);
    st.putNode('node-0', 0, defaultMachineSpec(0));
    st.write('node-0', { machine: JSON.stringify({ power: 'on' }) });
    st.close();
    const a = await node();
    try {
      expect(() => LabState.open(file).attach([a])).toThrow(
        /lab\.sqlite: node 'node-0': node-0: machine snapshot lacks a boot override/,
      );
      expect(a.machine.powerState()).toBe('off');
    } finally {
      await a.close();
    }
  });

  it('in memory when the lab has no state directory', () => {
    const st = LabStateStore.open();
    st.putNode('n', 0, { a: 1 });
    st.write('n', { faults: '{"x":1}' });
    expect(st.get('n')).toEqual({ name: 'n', index: 0, spec: { a: 1 }, sections: { faults: { x: 1 } } });
    st.close();
  });
});
