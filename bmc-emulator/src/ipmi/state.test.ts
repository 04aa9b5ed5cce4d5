/**
 * The BMC state's snapshot, restore and change hook: what a lab persists across restarts.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, ManualClock } from '../../../common/src/index.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../../vm-fleet/src/index.ts';
import { Bmc } from './bmc.ts';
import { type CommandContext, NetFn, Priv } from './commands/types.ts';
import { addSelEvent, restoreSel, snapshotSel } from './model/sel.ts';
import {
  type BmcSnapshot,
  createBmcState,
  restoreBmcState,
  snapshotBmcState,
  watchBmcState,
} from './state.ts';

describe('snapshotBmcState / restoreBmcState', () => {
  it('round-trips through JSON into a fresh state', () => {
    const a = createBmcState({ name: 'n1', address: '10.0.0.5' });
    Object.assign(a.users[4] as object, { name: 'ro', password: 'x', enabled: true, privilege: Priv.User });
    a.boot.flagsRest = [0, 0, 0x02, 0];
    a.powerRestorePolicy = 2;
    a.hw.fru = [1, 2, 3];
    a.hw.thresholds.Fan1 = { lc: 4 };
    a.hw.sol.retryCount = 3;
    a.hw.lan.cipherPrivileges[2] = 3;
    a.hw.selTimeOffset = 1000;
    addSelEvent(a.hw.sel, { sensorType: 1, sensorNumber: 1, eventType: 1, data: [0x57, 90, 85] }, 1234);
    const json = JSON.parse(JSON.stringify(snapshotBmcState(a, 5_000))) as BmcSnapshot;
    const sel = JSON.parse(JSON.stringify(snapshotSel(a.hw.sel)));
    const b = createBmcState({ name: 'n1' });
    restoreBmcState(b, json, 5_000);
    restoreSel(b.hw.sel, sel);
    const { hw: hwB, ...restB } = snapshotBmcState(b, 5_000);
    const { hw: hwA, ...restA } = snapshotBmcState(a, 5_000);
    expect(restB).toEqual(restA);
    expect({ ...hwB, selTimeSkew: 0 }).toEqual({ ...hwA, selTimeSkew: 0 });
    // The skew is against the wall clock, which moved on by a few ms meanwhile.
    expect(Math.abs((hwB.selTimeSkew ?? 0) - (hwA.selTimeSkew ?? 0))).toBeLessThan(1);
    expect(b.hw.sel).toEqual(a.hw.sel);
    expect(b.hw.selTimeOffset).toBeCloseTo(1000, 0);
    // Identity comes from the configuration, not the snapshot.
    expect(b.deviceGuid.equals(a.deviceGuid)).toBe(true);
  });

  it('keeps the SEL clock ahead of the wall clock by what it was, whatever the new process clock reads', () => {
    const a = createBmcState({ name: 'n' });
    a.hw.selTimeOffset = 500; // SEL seconds = clock seconds + 500
    const snap = snapshotBmcState(a, 100_000); // clock at 100 s: SEL time 600
    const b = createBmcState({ name: 'n' });
    restoreBmcState(b, snap, 2_000); // a new process, its clock at 2 s, no wall time passed
    expect(2 + (b.hw.selTimeOffset ?? 0)).toBeCloseTo(600, -1);
  });

  it('refuses a snapshot of the wrong shape, naming the field', () => {
    const good = snapshotBmcState(createBmcState({ name: 'n' }), 0);
    const s = () => createBmcState({ name: 'n' });
    expect(() => restoreBmcState(s(), { ...good, users: good.users.slice(1) }, 0)).toThrow(/10 user slots/);
    const users = good.users.map((u, i) => (i === 1 ? { ...u, password: 42 } : u));
    expect(() => restoreBmcState(s(), { ...good, users } as unknown as BmcSnapshot, 0)).toThrow(
      /users\[1\]\.password has the wrong type/,
    );
    expect(() => restoreSel(s().hw.sel, { ...snapshotSel(s().hw.sel), entries: ['00'] })).toThrow(
      /not 16 bytes/,
    );
  });
});

describe('watchBmcState', () => {
  it('fires after requests that may change the state and machine events, not after session or status reads', async () => {
    const machine = new InMemoryMachine(defaultMachineSpec(0));
    const bmc = new Bmc({ state: createBmcState({ name: 'n' }), machine, clock: new ManualClock(0) });
    const traced: string[] = [];
    bmc.registry.observer = (t) => traced.push(t.name);
    let changes = 0;
    const stop = watchBmcState(bmc, () => changes++);
    const ctx = {
      state: bmc.state,
      machine,
      clock: new ManualClock(0),
      log: createLogger('test'),
      services: { reset: () => {}, activeSessions: () => 1, maxSessions: () => 1, closeSession: () => false },
      session: {
        id: 1,
        userId: 2,
        privilege: Priv.Admin,
        maxPrivilege: Priv.Admin,
        authType: 6,
        setPrivilege: () => {},
        close: () => {},
      },
      channel: 1,
      rmcpPlus: true,
    } satisfies CommandContext;
    const call = (netFn: number, cmd: number, ...d: number[]) =>
      bmc.registry.dispatch(netFn, cmd, Buffer.from(d), ctx, createLogger('test'));
    await call(NetFn.Chassis, 0x01); // Get Chassis Status
    await call(NetFn.App, 0x01); // Get Device ID
    expect(changes).toBe(0);
    await call(NetFn.App, 0x45, 3, ...Buffer.from('ops'.padEnd(16, '\0'))); // Set User Name
    expect(changes).toBe(1);
    await machine.powerOn();
    expect(changes).toBeGreaterThan(1);
    expect(traced).toEqual(['getChassisStatus', 'getDeviceId', 'setUserName']); // the trace stays first
    stop();
    const before = changes;
    await call(NetFn.App, 0x45, 4, ...Buffer.from('x'.padEnd(16, '\0')));
    await machine.powerOff();
    expect(changes).toBe(before);
    expect(traced.at(-1)).toBe('setUserName');
  });
});
