/**
 * Chassis commands, netFn 00h (IPMI v2.0 chapter 28). Power and boot state are read from the
 * machine on every request, never remembered here.
 */
import type { Machine } from '../../../../vm-fleet/src/index.ts';
import { decodeBootFlags, encodeBootFlags, expireBootFlags } from './boot-flags.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

const EMPTY = Buffer.alloc(0);

/** Table 28-11 restart causes. */
const RestartCause = { Unknown: 0x0, ChassisControl: 0x1 } as const;

/** How long a Chassis Control waits for the machine before answering anyway (a slow QEMU spawn). */
const MACHINE_WAIT_MS = 1_500;

/**
 * Runs a machine operation: its failure within the wait becomes C0h "node busy" (as virtualbmc
 * answers when libvirt fails); one that takes longer is answered and finishes in the background.
 */
async function drive(ctx: CommandContext, what: string, op: (m: Machine) => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const p = op(ctx.machine);
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), MACHINE_WAIT_MS);
  });
  try {
    const r = await Promise.race([p, late]);
    if (r === 'late') p.catch((err: unknown) => ctx.log.warn(`${what} failed late: ${String(err)}`));
  } catch (err) {
    throw new IpmiError(Cc.NodeBusy, `${what} failed`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function requireOn(ctx: CommandContext, what: string): void {
  if (ctx.machine.powerState() !== 'on')
    throw new IpmiError(Cc.NotSupportedInPresentState, `${what} while off`);
}

/** Boot option parameters whose data length is fixed (table 28-14); others are rejected. */
const PARAM_LENGTH: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 5: 5, 6: 9 };

function setBootParam(param: number, d: Buffer, ctx: CommandContext): void {
  const b = ctx.state.boot;
  const want = PARAM_LENGTH[param];
  if (param === 7) {
    b.initiatorMailbox = [...d];
    return;
  }
  // 80h: parameter not supported (table 28-13 completion codes).
  if (want === undefined) throw new IpmiError(0x80, `boot parameter ${param} not supported`);
  if (d.length < want) throw new IpmiError(Cc.RequestLengthInvalid);
  switch (param) {
    case 0: {
      const v = (d[0] as number) & 0x03;
      if (v === 0x03) throw new IpmiError(Cc.InvalidDataField, 'reserved set-in-progress value');
      b.setInProgress = v === 0x02 ? 0 : v; // commit write completes the set
      return;
    }
    case 1:
      b.serviceSelector = d[0] as number;
      return;
    case 2:
      b.serviceScan = (d[0] as number) & 0x03;
      return;
    case 3:
      b.validBitClearing = (d[0] as number) & 0x1f;
      return;
    case 4: {
      // Data 1 is a write mask for data 2.
      const mask = d[0] as number;
      b.ack = (b.ack & ~mask) | ((d[1] as number) & mask);
      return;
    }
    case 5: {
      const parsed = decodeBootFlags(d);
      if (parsed === undefined) throw new IpmiError(Cc.InvalidDataField, 'reserved boot device selector');
      const { override, rest } = parsed;
      const quirk = ctx.state.quirks.bootDeviceNotPersistent;
      ctx.machine.setBootOverride(quirk ? { ...override, persistent: false } : override);
      b.flagsRest = rest;
      b.flagsSetAt = override.device === 'none' ? undefined : ctx.clock.now();
      return;
    }
    case 6:
      b.initiatorInfo = [...d.subarray(0, 9)];
      return;
  }
}

function getBootParam(param: number, ctx: CommandContext): Buffer {
  const b = ctx.state.boot;
  switch (param) {
    case 0:
      return Buffer.from([b.setInProgress]);
    case 1:
      return Buffer.from([b.serviceSelector]);
    case 2:
      return Buffer.from([b.serviceScan]);
    case 3:
      return Buffer.from([b.validBitClearing]);
    case 4:
      return Buffer.from([0x00, b.ack]);
    case 5:
      return encodeBootFlags(ctx.machine.bootOverride(), ctx.state);
    case 6:
      return Buffer.from(b.initiatorInfo);
    case 7:
      return Buffer.from(b.initiatorMailbox);
    default:
      throw new IpmiError(0x80, `boot parameter ${param} not supported`);
  }
}

export const chassisCommands = [
  {
    // Table 28-3: capability flags, then FRU, SDR, SEL, SM and bridge device addresses (all the BMC).
    netFn: NetFn.Chassis,
    cmd: 0x00,
    name: 'getChassisCapabilities',
    minPriv: Priv.User,
    minLen: 0,
    handle: () => Buffer.from([0x00, 0x20, 0x20, 0x20, 0x20, 0x20]),
  },
  {
    // Table 28-4. Byte 1: bit 0 power on, bits 6:5 restore policy. Byte 2 bit 4: last power-on
    // by IPMI command. Byte 3: bit 6 identify supported, bits 5:4 identify state.
    netFn: NetFn.Chassis,
    cmd: 0x01,
    name: 'getChassisStatus',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const s = ctx.state;
      const on = ctx.machine.powerState() === 'on' ? 0x01 : 0x00;
      const now = ctx.clock.now();
      const identify =
        s.identifyUntil === Number.POSITIVE_INFINITY ? 0x20 : s.identifyUntil > now ? 0x10 : 0x00;
      return Buffer.from([
        on | (s.powerRestorePolicy << 5),
        s.lastPowerOnByCommand ? 0x10 : 0x00,
        0x40 | identify,
        0x00,
      ]);
    },
  },
  {
    // Table 28-5. Cycle, reset, diagnostic interrupt and soft shutdown need a running machine: D5h.
    netFn: NetFn.Chassis,
    cmd: 0x02,
    name: 'chassisControl',
    minPriv: Priv.Operator,
    minLen: 1,
    handle: async (d, ctx) => {
      const op = (d[0] as number) & 0x0f;
      const s = ctx.state;
      // Any Chassis Control restarts the boot-flag countdown (section 28.13).
      if (s.boot.flagsSetAt !== undefined) s.boot.flagsSetAt = ctx.clock.now();
      switch (op) {
        case 0x00:
          await drive(ctx, 'power down', (m) => m.powerOff());
          break;
        case 0x01:
          if (ctx.machine.powerState() === 'off') {
            s.restartCause = RestartCause.ChassisControl;
            s.lastPowerOnByCommand = true;
          }
          await drive(ctx, 'power up', (m) => m.powerOn());
          break;
        case 0x02:
          requireOn(ctx, 'power cycle');
          s.restartCause = RestartCause.ChassisControl;
          s.lastPowerOnByCommand = true;
          await drive(ctx, 'power cycle', async (m) => {
            await m.powerOff();
            await m.powerOn();
          });
          break;
        case 0x03:
          requireOn(ctx, 'hard reset');
          s.restartCause = RestartCause.ChassisControl;
          await drive(ctx, 'hard reset', (m) => m.reset());
          break;
        case 0x04:
          requireOn(ctx, 'diagnostic interrupt');
          await drive(ctx, 'diagnostic interrupt', (m) => m.diagnosticInterrupt());
          break;
        case 0x05:
          requireOn(ctx, 'soft shutdown');
          // The button is pressed either way; whether the guest honours it is the machine's business.
          await drive(ctx, 'soft shutdown', async (m) => {
            const r = await m.softOff();
            if (!r.accepted) ctx.log.debug('soft shutdown: the guest ignored the ACPI power button');
          });
          break;
        default:
          throw new IpmiError(Cc.InvalidDataField, `chassis control ${op} is reserved`);
      }
      return EMPTY;
    },
  },
  {
    // Table 28-6: interval in seconds (default 15, 0 = off); byte 2 bit 0 forces it on indefinitely.
    netFn: NetFn.Chassis,
    cmd: 0x04,
    name: 'chassisIdentify',
    minPriv: Priv.Operator,
    minLen: 0,
    handle: (d, ctx) => {
      const now = ctx.clock.now();
      const force = d.length >= 2 && ((d[1] as number) & 0x01) !== 0;
      const seconds = d.length >= 1 ? (d[0] as number) : 15;
      ctx.state.identifyUntil = force ? Number.POSITIVE_INFINITY : seconds === 0 ? 0 : now + seconds * 1000;
      return EMPTY;
    },
  },
  {
    // Table 28-8: 00 always off, 01 previous, 02 always on, 03 no change; returns supported policies.
    netFn: NetFn.Chassis,
    cmd: 0x06,
    name: 'setPowerRestorePolicy',
    minPriv: Priv.Operator,
    minLen: 1,
    handle: (d, ctx) => {
      const p = (d[0] as number) & 0x07;
      if (p > 3) throw new IpmiError(Cc.InvalidDataField, 'reserved restore policy');
      if (p !== 3) ctx.state.powerRestorePolicy = p;
      return Buffer.from([0x07]);
    },
  },
  {
    // Table 28-11: cause, then the channel the cause came through.
    netFn: NetFn.Chassis,
    cmd: 0x07,
    name: 'getSystemRestartCause',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => Buffer.from([ctx.state.restartCause, ctx.channel]),
  },
  {
    // Table 28-13: byte 1 bit 7 marks the parameter invalid/locked (ignored), 6:0 the selector.
    netFn: NetFn.Chassis,
    cmd: 0x08,
    name: 'setSystemBootOptions',
    minPriv: Priv.Operator,
    minLen: 1,
    handle: (d, ctx) => {
      expireBootFlags(ctx.state, ctx.machine, ctx.clock.now());
      setBootParam((d[0] as number) & 0x7f, d.subarray(1), ctx);
      return EMPTY;
    },
  },
  {
    // Table 28-14: parameter version 01h, then the selector (bit 7 = invalid/locked), then data.
    netFn: NetFn.Chassis,
    cmd: 0x09,
    name: 'getSystemBootOptions',
    minPriv: Priv.Operator,
    minLen: 3,
    handle: (d, ctx) => {
      expireBootFlags(ctx.state, ctx.machine, ctx.clock.now());
      const param = (d[0] as number) & 0x7f;
      return Buffer.concat([Buffer.from([0x01, param]), getBootParam(param, ctx)]);
    },
  },
  {
    // Table 28-16: minutes per count (60), then the counter — whole power-on hours.
    netFn: NetFn.Chassis,
    cmd: 0x0f,
    name: 'getPohCounter',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => {
      const out = Buffer.alloc(5);
      out[0] = 60;
      out.writeUInt32LE(Math.floor(ctx.machine.poweredOnMs() / 3_600_000), 1);
      return out;
    },
  },
] as const satisfies readonly CommandSpec[];
