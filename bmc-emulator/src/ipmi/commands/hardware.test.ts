/**
 * The hardware commands through the dispatcher with a manual clock: SDR partial reads and their
 * completion codes, sensors that follow power, threshold crossings in the SEL, the SEL's
 * reservation/clear protocol and capacity, FRU writes, LAN parameters, DCMI.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, ManualClock } from '../../../../common/src/index.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../../../vm-fleet/src/index.ts';
import { Bmc } from '../bmc.ts';
import { attachEventLog, withSelEvents } from '../model/hw.ts';
import { decodeSdr } from '../model/sdr.ts';
import { decodeSelRecord } from '../model/sel.ts';
import { createBmcState } from '../state.ts';
import { Reader } from '../wire/reader.ts';
import { appCommands } from './app.ts';
import { chassisCommands } from './chassis.ts';
import { Cc } from './completion-codes.ts';
import { dcmiCommands } from './dcmi.ts';
import { CommandRegistry } from './registry.ts';
import { sensorCommands } from './sensor.ts';
import { storageCommands } from './storage.ts';
import { transportCommands } from './transport.ts';
import { type CommandContext, NetFn, Priv } from './types.ts';

function rig(selCapacity?: number) {
  const clock = new ManualClock(1_000);
  const machine = new InMemoryMachine(defaultMachineSpec(0), () => clock.now());
  const state = createBmcState({
    name: 'node-0',
    address: '10.1.2.3',
    ...(selCapacity ? { selCapacity } : {}),
  });
  const registry = new CommandRegistry([
    ...appCommands,
    ...withSelEvents(chassisCommands),
    ...sensorCommands,
    ...storageCommands,
    ...transportCommands,
    ...dcmiCommands,
  ]);
  const ctx: CommandContext = {
    state,
    machine,
    clock,
    log: createLogger('test'),
    services: { reset: () => {}, activeSessions: () => 1, maxSessions: () => 32, closeSession: () => false },
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
  };
  attachEventLog(ctx);
  const call = (netFn: number, cmd: number, ...data: number[]) =>
    registry.dispatch(netFn, cmd, Buffer.from(data), ctx, createLogger('test'));
  const sel = () => state.hw.sel.entries.map((e) => decodeSelRecord(new Reader(Buffer.from(e.bytes))).event);
  return { clock, machine, state, call, sel };
}

const lo = (v: number) => v & 0xff;
const hi = (v: number) => (v >> 8) & 0xff;

describe('SDR repository', () => {
  it('answers partial reads as ipmitool makes them: 5-byte header, then the body under a reservation', async () => {
    const r = rig();
    const info = await r.call(NetFn.Storage, 0x20);
    const count = info.data.readUInt16LE(1);
    expect(info.data[0]).toBe(0x51);
    const res = (await r.call(NetFn.Storage, 0x22)).data.readUInt16LE(0);
    let id = 0;
    const names: string[] = [];
    for (let n = 0; n < count; n++) {
      const h = await r.call(NetFn.Storage, 0x23, 0, 0, lo(id), hi(id), 0, 5);
      expect(h.cc).toBe(Cc.Ok);
      const len = h.data[6] as number;
      const body = await r.call(NetFn.Storage, 0x23, lo(res), hi(res), lo(id), hi(id), 5, len);
      expect(body.data.length).toBe(2 + len);
      const rec = Buffer.concat([h.data.subarray(2), body.data.subarray(2)]);
      names.push(decodeSdr(new Reader(rec)).name);
      id = h.data.readUInt16LE(0);
    }
    expect(id).toBe(0xffff);
    expect(names.slice(0, 4)).toEqual(['BMC', 'Virtual Server', 'CPU Temp', 'Inlet Temp']);
  });

  it('refuses a partial read under a stale reservation (C5h), a missing record (CBh), too many bytes (CAh)', async () => {
    const r = rig();
    const res = (await r.call(NetFn.Storage, 0x22)).data.readUInt16LE(0);
    await r.call(NetFn.Storage, 0x22); // a newer reservation cancels the first
    expect((await r.call(NetFn.Storage, 0x23, lo(res), hi(res), 1, 0, 5, 10)).cc).toBe(
      Cc.ReservationCancelled,
    );
    expect((await r.call(NetFn.Storage, 0x23, 0, 0, 0x00, 0x10, 0, 5)).cc).toBe(Cc.NotPresent);
    // Reading the whole of a record with FFh works; FFh bytes of the repository at once does not exist.
    expect((await r.call(NetFn.Storage, 0x23, 0, 0, 3, 0, 0, 0xff)).cc).toBe(Cc.Ok);
    expect((await r.call(NetFn.SensorEvent, 0x21, 0, 0, 3, 0, 0, 0xff)).cc).toBe(Cc.Ok);
  });
});

describe('sensors', () => {
  it('fans read 0 RPM with the host off and spin once it is on; unknown sensors are CBh', async () => {
    const r = rig();
    const fan = 3;
    const off = await r.call(NetFn.SensorEvent, 0x2d, fan);
    expect(off.data[0]).toBe(0);
    expect(off.data[2]).toBe(0xc0); // below its thresholds, but not evaluated while the host is off
    await r.machine.powerOn();
    const on = await r.call(NetFn.SensorEvent, 0x2d, fan);
    expect(on.data[0]).toBeGreaterThan(40); // x100 RPM
    expect((await r.call(NetFn.SensorEvent, 0x2d, 0xee)).cc).toBe(Cc.NotPresent);
    const th = await r.call(NetFn.SensorEvent, 0x27, fan);
    expect([...th.data]).toEqual([0x07, 8, 5, 3, 0, 0, 0]);
  });

  it('load: the CPU runs hotter and draws more through POST and boot, then settles', async () => {
    const r = rig();
    await r.machine.powerOn();
    const cpu = async () => (await r.call(NetFn.SensorEvent, 0x2d, 1)).data[0] as number;
    const watts = async () => (await r.call(NetFn.Group, 0x02, 0xdc, 0x01, 0, 0)).data.readUInt16LE(1);
    const [busyT, busyW] = [await cpu(), await watts()];
    r.clock.advance(61_000);
    const [idleT, idleW] = [await cpu(), await watts()];
    expect(busyT - idleT).toBeGreaterThanOrEqual(10);
    expect(busyW - idleW).toBeGreaterThanOrEqual(10);
    expect(idleT).toBeLessThan(85); // no threshold reached by load alone
  });

  it('a threshold crossing is logged once when asserted and once when it clears', async () => {
    const r = rig();
    await r.machine.powerOn();
    r.state.hw.sensorOverrides['CPU Temp'] = 91;
    const hot = await r.call(NetFn.SensorEvent, 0x2d, 1);
    expect(hot.data[2]).toBe(0xc0 | 0x18);
    await r.call(NetFn.SensorEvent, 0x2d, 1);
    const crossings = () => r.sel().filter((e) => e?.eventType === 0x01);
    expect(crossings().map((e) => [e?.data[0], e?.deassertion])).toEqual([
      [0x57, false], // upper non-critical going high
      [0x59, false], // upper critical going high
    ]);
    delete r.state.hw.sensorOverrides['CPU Temp'];
    await r.call(NetFn.Storage, 0x40);
    expect(crossings().filter((e) => e?.deassertion)).toHaveLength(2);
    const status = await r.call(NetFn.SensorEvent, 0x2b, 1);
    expect([...status.data.subarray(1)]).toEqual([0, 0, 0, 0]);
  });
});

describe('Set Sensor Thresholds (section 35.8)', () => {
  // Sensor numbers: 1 CPU Temp (upper thresholds, 0-127 degC), 3 Fan1 (lower), 7 12V (fixed).
  const set = (r: ReturnType<typeof rig>, sensor: number, mask: number, values: number[]) =>
    r.call(NetFn.SensorEvent, 0x26, sensor, mask, ...values);

  it('sets what the SDR marks settable; Get Sensor Thresholds and the readings follow', async () => {
    const r = rig();
    await r.machine.powerOn();
    expect((await set(r, 1, 0x08, [0, 0, 0, 30, 0, 0])).cc).toBe(Cc.Ok); // unc only
    expect([...(await r.call(NetFn.SensorEvent, 0x27, 1)).data]).toEqual([0x38, 0, 0, 0, 30, 90, 95]);
    expect(r.state.hw.thresholds).toEqual({ 'CPU Temp': { unc: 30 } });
    // The reading (about 45 degC) is now above UNC: status bit 3, and one SEL event whose
    // byte 3 is the new threshold (table 29-6).
    expect(((await r.call(NetFn.SensorEvent, 0x2d, 1)).data[2] as number) & 0x3f).toBe(0x08);
    const crossing = r.sel().filter((e) => e?.eventType === 0x01);
    expect(crossing.map((e) => [e?.data[0], e?.data[2], e?.deassertion])).toEqual([[0x57, 30, false]]);
    expect((await set(r, 3, 0x07, [9, 6, 4, 0, 0, 0])).cc).toBe(Cc.Ok);
    expect([...(await r.call(NetFn.SensorEvent, 0x27, 3)).data]).toEqual([0x07, 9, 6, 4, 0, 0, 0]);
  });

  it('refuses with CCh: a threshold not settable, reserved mask bits, beyond the sensor range', async () => {
    const r = rig();
    expect((await set(r, 7, 0x08, [0, 0, 0, 210, 0, 0])).cc).toBe(Cc.InvalidDataField); // 12V: fixed
    expect((await set(r, 1, 0x01, [10, 0, 0, 0, 0, 0])).cc).toBe(Cc.InvalidDataField); // no LNC on CPU Temp
    expect((await set(r, 1, 0x48, [0, 0, 0, 80, 0, 0])).cc).toBe(Cc.InvalidDataField); // reserved bit 6
    expect((await set(r, 1, 0x20, [0, 0, 0, 0, 0, 128])).cc).toBe(Cc.InvalidDataField); // > 127 degC
    expect((await set(r, 1, 0x20, [0, 0, 0, 0, 0, 127])).cc).toBe(Cc.Ok);
    expect((await r.call(NetFn.SensorEvent, 0x26, 1, 0x20, 0, 0)).cc).toBe(Cc.RequestLengthInvalid);
    expect((await set(r, 20, 0x01, [0, 0, 0, 0, 0, 0])).cc).toBe(Cc.IllegalForSensorOrRecord); // discrete
    expect(r.state.hw.thresholds).toEqual({ 'CPU Temp': { unr: 127 } });
  });
});

describe('SEL', () => {
  it('logs power, restart, boot and boot-device-change events from the machine and chassis commands', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x08, 0x05, 0x80, 0x04, 0, 0, 0); // boot from PXE
    await r.call(NetFn.Chassis, 0x02, 0x01);
    await r.call(NetFn.Chassis, 0x02, 0x02);
    expect(r.sel().map((e) => [e?.sensorType, (e?.data[0] ?? 0) & 0x0f])).toEqual([
      [0x12, 0x00], // system reconfigured (boot device)
      [0x22, 0x00], // S0/G0
      [0x1d, 0x07], // system restart
      [0x1f, 0x02], // PXE boot
      [0x22, 0x0a], // S5 by override (the cycle's off)
      [0x22, 0x00],
      [0x1d, 0x07],
      [0x1f, 0x01], // the one-time PXE override was consumed: disk
      [0x09, 0x01], // power unit: power cycle
    ]);
  });

  it('clear needs the reservation and CLR; it leaves one "log area cleared" entry', async () => {
    const r = rig();
    await r.machine.powerOn();
    expect((await r.call(NetFn.Storage, 0x47, 0, 0, 0x43, 0x4c, 0x52, 0xaa)).cc).toBe(
      Cc.ReservationCancelled,
    );
    const res = (await r.call(NetFn.Storage, 0x42)).data;
    expect(
      (await r.call(NetFn.Storage, 0x47, res[0] as number, res[1] as number, 0x43, 0x4c, 0x58, 0xaa)).cc,
    ).toBe(Cc.InvalidDataField);
    const done = await r.call(
      NetFn.Storage,
      0x47,
      res[0] as number,
      res[1] as number,
      0x43,
      0x4c,
      0x52,
      0xaa,
    );
    expect([...done.data]).toEqual([0x01]);
    const status = await r.call(
      NetFn.Storage,
      0x47,
      res[0] as number,
      res[1] as number,
      0x43,
      0x4c,
      0x52,
      0x00,
    );
    expect([...status.data]).toEqual([0x01]);
    expect(r.sel().map((e) => [e?.sensorType, e?.data[0]])).toEqual([[0x10, 0x02]]);
  });

  it('a full SEL: the last slot says "SEL full", then Add SEL Entry gets C4h and the overflow flag is set', async () => {
    const r = rig(4);
    const add = () =>
      r.call(NetFn.Storage, 0x44, 0, 0, 0x02, 0, 0, 0, 0, 0x41, 0, 0x04, 0x01, 0x30, 0x01, 0x57, 0, 0);
    expect((await add()).cc).toBe(Cc.Ok);
    expect((await add()).cc).toBe(Cc.Ok);
    await r.machine.powerOn(); // 3 events: the third would fill it
    expect(r.sel().at(-1)).toMatchObject({ sensorType: 0x10, data: [0x04, 0xff, 0xff] });
    expect((await add()).cc).toBe(Cc.OutOfSpace);
    const info = await r.call(NetFn.Storage, 0x40);
    expect(info.data.readUInt16LE(1)).toBe(4);
    expect(info.data[13]).toBe(0x80 | 0x0b);
    expect(info.data.readUInt16LE(3)).toBe(0);
  });

  it('a BMC reset is logged (Management Subsystem Health, controller off-line)', () => {
    const machine = new InMemoryMachine(defaultMachineSpec(0));
    const bmc = new Bmc({ state: createBmcState({ name: 'node-0' }), machine, clock: new ManualClock(0) });
    bmc.beginReset(1_000);
    const e = decodeSelRecord(new Reader(Buffer.from(bmc.state.hw.sel.entries[0]?.bytes ?? []))).event;
    expect(e).toMatchObject({ sensorType: 0x28, data: [0x02, 0xff, 0xff] });
  });

  it('Get/Set SEL Time: the clock moves with the BMC clock from what was set', async () => {
    const r = rig();
    await r.call(NetFn.Storage, 0x49, 0x00, 0x00, 0x00, 0x60);
    r.clock.advance(5_000);
    expect((await r.call(NetFn.Storage, 0x48)).data.readUInt32LE(0)).toBe(0x60000005);
  });
});

describe('FRU', () => {
  it('reads at offsets, accepts writes into the lab state, refuses other devices', async () => {
    const r = rig();
    const info = await r.call(NetFn.Storage, 0x10, 0);
    expect(info.data.readUInt16LE(0)).toBe(512);
    const head = await r.call(NetFn.Storage, 0x11, 0, 0, 0, 8);
    expect(head.data[0]).toBe(8);
    expect(head.data[1]).toBe(0x01);
    expect((await r.call(NetFn.Storage, 0x12, 0, 0xf0, 0x01, 0xaa, 0xbb)).data[0]).toBe(2);
    expect((await r.call(NetFn.Storage, 0x11, 0, 0xf0, 0x01, 2)).data.subarray(1).toString('hex')).toBe(
      'aabb',
    );
    expect(r.state.hw.fru?.[0x1f0]).toBe(0xaa);
    expect((await r.call(NetFn.Storage, 0x10, 1)).cc).toBe(Cc.NotPresent);
    expect((await r.call(NetFn.Storage, 0x12, 0, 0xff, 0x01, 1, 2)).cc).toBe(Cc.ParameterOutOfRange);
  });
});

describe('LAN and DCMI', () => {
  it('reports the configured address and keeps what is set; read-only parameters are 82h', async () => {
    const r = rig();
    expect([...(await r.call(NetFn.Transport, 0x02, 0x01, 3, 0, 0)).data]).toEqual([0x11, 10, 1, 2, 3]);
    expect((await r.call(NetFn.Transport, 0x01, 0x01, 3, 10, 9, 8, 7)).cc).toBe(Cc.Ok);
    expect([...(await r.call(NetFn.Transport, 0x02, 0x01, 3, 0, 0)).data]).toEqual([0x11, 10, 9, 8, 7]);
    expect(r.state.hw.lan.ip).toBe('10.9.8.7');
    expect((await r.call(NetFn.Transport, 0x01, 0x01, 5, 1, 2, 3, 4, 5, 6)).cc).toBe(0x82);
    expect((await r.call(NetFn.Transport, 0x02, 0x01, 99, 0, 0)).cc).toBe(0x80);
    expect((await r.call(NetFn.Transport, 0x02, 0x02, 3, 0, 0)).cc).toBe(Cc.InvalidDataField);
  });

  it('power reading follows the machine; a power limit is 80h until set, then kept', async () => {
    const r = rig();
    const watts = async () => (await r.call(NetFn.Group, 0x02, 0xdc, 0x01, 0, 0)).data.readUInt16LE(1);
    expect(await watts()).toBe(0);
    await r.machine.powerOn();
    expect(await watts()).toBeGreaterThan(80);
    expect((await r.call(NetFn.Group, 0x03, 0xdc, 0, 0)).cc).toBe(0x80);
    const set = [0xdc, 0, 0, 0, 0x01, 0x2c, 0x01, 0xe8, 0x03, 0, 0, 0, 0, 0x05, 0x00];
    expect((await r.call(NetFn.Group, 0x04, ...set)).cc).toBe(Cc.Ok);
    const got = await r.call(NetFn.Group, 0x03, 0xdc, 0, 0);
    expect(got.data.readUInt16LE(4)).toBe(300);
    expect(r.state.hw.dcmi).toMatchObject({ limitWatts: 300, exceptionAction: 1, samplingSec: 5 });
    expect((await r.call(NetFn.Group, 0x01, 0x00, 0x01)).cc).toBe(Cc.InvalidDataField);
  });
});
