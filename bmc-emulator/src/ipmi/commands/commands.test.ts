/**
 * Command handlers through the dispatcher, with a manual clock: completion codes, boot-flag
 * semantics (the 60 s timeout of section 28.13, persistence, the vendor quirk), privilege.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, ManualClock } from '../../../../common/src/index.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../../../vm-fleet/src/index.ts';
import { createBmcState } from '../state.ts';
import { appCommands } from './app.ts';
import { chassisCommands } from './chassis.ts';
import { Cc } from './completion-codes.ts';
import { CommandRegistry } from './registry.ts';
import { type CommandContext, NetFn, Priv } from './types.ts';

function rig(privilege: number = Priv.Admin) {
  const clock = new ManualClock(1_000);
  const machine = new InMemoryMachine(defaultMachineSpec(0), () => clock.now());
  const state = createBmcState({ name: 'node-0' });
  const registry = new CommandRegistry([...appCommands, ...chassisCommands]);
  const resets: string[] = [];
  let priv = privilege;
  const ctx: CommandContext = {
    state,
    machine,
    clock,
    log: createLogger('test'),
    services: {
      reset: (k) => resets.push(k),
      activeSessions: () => 1,
      maxSessions: () => 32,
      closeSession: () => false,
    },
    session: {
      id: 7,
      userId: 2,
      get privilege() {
        return priv;
      },
      maxPrivilege: privilege,
      authType: 6,
      setPrivilege: (p) => {
        priv = p;
      },
      close: () => {},
    },
    channel: 1,
    rmcpPlus: true,
  };
  const call = (netFn: number, cmd: number, ...data: number[]) =>
    registry.dispatch(netFn, cmd, Buffer.from(data), ctx, createLogger('test'));
  return { clock, machine, state, call, resets };
}

describe('dispatcher', () => {
  it('maps unknown, short, forbidden and failing requests to completion codes', async () => {
    const r = rig(Priv.User);
    expect((await r.call(0x2c, 0x00, 0x00)).cc).toBe(Cc.InvalidCommand);
    // Privilege is checked before length: a low-privilege session learns nothing more.
    expect((await r.call(NetFn.Chassis, 0x02)).cc).toBe(Cc.InsufficientPrivilege);
    expect((await r.call(NetFn.Chassis, 0x02, 0x01)).cc).toBe(Cc.InsufficientPrivilege);
    expect((await rig().call(NetFn.Chassis, 0x02)).cc).toBe(Cc.RequestLengthInvalid);
    expect((await r.call(NetFn.Chassis, 0x01)).cc).toBe(Cc.Ok);
  });

  it('a handler that throws something unexpected answers FFh', async () => {
    const r = rig();
    r.machine.powerState = () => {
      throw new Error('backend exploded');
    };
    expect((await r.call(NetFn.Chassis, 0x01)).cc).toBe(Cc.Unspecified);
  });

  it('a backend failure during chassis control answers C0h (node busy)', async () => {
    const r = rig();
    r.machine.powerOn = () => Promise.reject(new Error('qemu failed to start'));
    expect((await r.call(NetFn.Chassis, 0x02, 0x01)).cc).toBe(Cc.NodeBusy);
  });
});

describe('chassis control', () => {
  it.each([
    [0x02, 'cycle'],
    [0x03, 'reset'],
    [0x04, 'diagnostic interrupt'],
    [0x05, 'soft off'],
  ])('op %i (%s) while off answers D5h and leaves the machine off', async (op) => {
    const r = rig();
    expect((await r.call(NetFn.Chassis, 0x02, op)).cc).toBe(Cc.NotSupportedInPresentState);
    expect(r.machine.powerState()).toBe('off');
  });

  it('records the restart cause and "last power-on by command"', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x02, 0x01);
    expect([...(await r.call(NetFn.Chassis, 0x07)).data]).toEqual([0x01, 0x01]);
    expect(((await r.call(NetFn.Chassis, 0x01)).data[1] as number) & 0x10).toBe(0x10);
  });

  it('soft off is reported truthfully: a guest without ACPI stays on', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x02, 0x01);
    r.machine.acpi = false;
    expect((await r.call(NetFn.Chassis, 0x02, 0x05)).cc).toBe(Cc.Ok);
    expect(r.machine.powerState()).toBe('on');
  });

  it('POH counter counts whole hours of power-on time', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x02, 0x01);
    r.clock.advance(3 * 3_600_000 + 59_000);
    const d = (await r.call(NetFn.Chassis, 0x0f)).data;
    expect([d[0], d.readUInt32LE(1)]).toEqual([60, 3]);
  });
});

describe('boot flags (parameter 5)', () => {
  const setPxe = [0x05, 0x80, 0x04, 0x00, 0x00, 0x00];

  it('clear themselves 60 s after being set unless a chassis control comes (section 28.13)', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x08, ...setPxe);
    r.clock.advance(59_000);
    expect(r.machine.bootOverride().device).toBe('pxe');
    r.clock.advance(2_000);
    const got = (await r.call(NetFn.Chassis, 0x09, 0x05, 0, 0)).data;
    expect(got[2]).toBe(0x00); // valid bit gone
    expect(r.machine.bootOverride().device).toBe('none');
  });

  it('a chassis control restarts the countdown', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x08, ...setPxe);
    r.clock.advance(50_000);
    await r.call(NetFn.Chassis, 0x02, 0x00); // power down (already off): still restarts it
    r.clock.advance(50_000);
    await r.call(NetFn.Chassis, 0x01);
    expect(r.machine.bootOverride().device).toBe('pxe');
  });

  it('stay when parameter 3 bit 3 disables the timeout (what Ironic sends)', async () => {
    const r = rig();
    await r.call(NetFn.Chassis, 0x08, 0x03, 0x08);
    await r.call(NetFn.Chassis, 0x08, ...setPxe);
    r.clock.advance(3_600_000);
    await r.call(NetFn.Chassis, 0x01);
    expect(r.machine.bootOverride().device).toBe('pxe');
  });

  it('keep the bytes a BMC does not interpret and round-trip them', async () => {
    const r = rig();
    // valid + persistent + EFI; CD/DVD with lock keyboard (bit 6); verbosity quiet; instance 2
    expect((await r.call(NetFn.Chassis, 0x08, 0x05, 0xe0, 0x54, 0x20, 0x00, 0x02)).cc).toBe(Cc.Ok);
    expect(r.machine.bootOverride()).toEqual({ device: 'cdrom', persistent: true, mode: 'uefi' });
    expect((await r.call(NetFn.Chassis, 0x09, 0x05, 0, 0)).data.toString('hex')).toBe('0105e054200002');
  });

  it('the "boot device not persistent" quirk turns every override into a one-time one', async () => {
    const r = rig();
    r.state.quirks.bootDeviceNotPersistent = true;
    await r.call(NetFn.Chassis, 0x08, 0x05, 0xc0, 0x08, 0, 0, 0);
    expect(r.machine.bootOverride()).toEqual({ device: 'disk', persistent: false, mode: 'bios' });
    await r.machine.powerOn();
    expect(r.machine.bootOverride().device).toBe('none');
  });

  it('reject a reserved device selector and unknown parameters', async () => {
    const r = rig();
    expect((await r.call(NetFn.Chassis, 0x08, 0x05, 0x80, 0x28, 0, 0, 0)).cc).toBe(Cc.InvalidDataField);
    expect((await r.call(NetFn.Chassis, 0x08, 0x40, 0x00)).cc).toBe(0x80);
    expect((await r.call(NetFn.Chassis, 0x08, 0x05, 0x80)).cc).toBe(Cc.RequestLengthInvalid);
  });
});

describe('app commands', () => {
  it('Set Session Privilege Level cannot go above the session maximum', async () => {
    const r = rig(Priv.Operator);
    expect((await r.call(NetFn.App, 0x3b, Priv.Admin)).cc).toBe(0x81);
    expect([...(await r.call(NetFn.App, 0x3b, Priv.User)).data]).toEqual([Priv.User]);
  });

  it('cold and warm reset ask the BMC to go away', async () => {
    const r = rig();
    await r.call(NetFn.App, 0x02);
    await r.call(NetFn.App, 0x03);
    expect(r.resets).toEqual(['cold', 'warm']);
  });

  it('Set User Password tests passwords (80h on mismatch) and enables users', async () => {
    const r = rig();
    const pw = (s: string, n = 16) => [...Buffer.concat([Buffer.from(s), Buffer.alloc(n - s.length)])];
    expect((await r.call(NetFn.App, 0x47, 0x02, 0x03, ...pw('password'))).cc).toBe(Cc.Ok);
    expect((await r.call(NetFn.App, 0x47, 0x02, 0x03, ...pw('nope'))).cc).toBe(0x80);
    expect((await r.call(NetFn.App, 0x47, 0x82, 0x02, ...pw('a-twenty-byte-secret', 20))).cc).toBe(Cc.Ok);
    expect(r.state.users[1]?.password).toBe('a-twenty-byte-secret');
    expect((await r.call(NetFn.App, 0x47, 0x02, 0x03, ...pw('a-twenty-byte-se'))).cc).toBe(0x81);
    expect((await r.call(NetFn.App, 0x47, 0x05, 0x01)).cc).toBe(Cc.Ok);
    expect(r.state.users[4]?.enabled).toBe(true);
    expect((await r.call(NetFn.App, 0x47, 0x0b, 0x01)).cc).toBe(Cc.ParameterOutOfRange);
  });

  it('Get Channel Cipher Suites lists records 16 bytes at a time', async () => {
    const r = rig();
    const first = (await r.call(NetFn.App, 0x54, 0x0e, 0x00, 0x80)).data;
    const second = (await r.call(NetFn.App, 0x54, 0x0e, 0x00, 0x81)).data;
    const records = Buffer.concat([first.subarray(1), second.subarray(1)]);
    // six suites × 5 bytes: C0h, id, auth, 40h|integrity, 80h|confidentiality
    expect(records.length).toBe(30);
    expect(records.subarray(10, 15).toString('hex')).toBe('c003014181');
    expect(records.subarray(25, 30).toString('hex')).toBe('c011034481');
  });

  it('rejects channels the BMC does not have', async () => {
    const r = rig();
    expect((await r.call(NetFn.App, 0x42, 0x05)).cc).toBe(Cc.InvalidDataField);
    expect([...(await r.call(NetFn.App, 0x42, 0x0e)).data.subarray(0, 4)]).toEqual([1, 0x04, 0x01, 0x81]);
  });
});

describe('observer', () => {
  it('sees every answered request with its completion code', async () => {
    const registry = new CommandRegistry([...appCommands, ...chassisCommands]);
    const seen: string[] = [];
    registry.observer = (t) => seen.push(`${t.name}:${t.cc.toString(16)}:${t.inSession}`);
    const ctx = {
      state: createBmcState({ name: 'n' }),
      session: undefined,
      channel: 1,
    } as unknown as CommandContext;
    await registry.dispatch(NetFn.App, 0x37, Buffer.alloc(0), ctx, createLogger('t'));
    await registry.dispatch(0x2c, 0x00, Buffer.from([0]), ctx, createLogger('t'));
    expect(seen).toEqual(['getSystemGuid:0:false', 'unknown:c1:false']);
  });
});
