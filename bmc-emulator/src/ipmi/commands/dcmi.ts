/**
 * DCMI commands (DCMI v1.5, section 6), carried in the group-extension netFn 2Ch with group
 * byte DCh first in every request and response. Power readings come from the same model as the
 * power sensor, so they follow the machine's power state; the power limit lives in BmcState.
 */
import { hardware, repository, scanSensors, selNow } from '../model/hw.ts';
import { type AnalogSensor, toUnits } from '../model/sensors.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

export const DCMI_GROUP = 0xdc;
/** DCMI completion code 80h on Get Power Limit: "no active set power limit" (table 6-12). */
const NO_LIMIT = 0x80;

function group(d: Buffer): void {
  if (d[0] !== DCMI_GROUP) throw new IpmiError(Cc.InvalidDataField, 'not a DCMI request');
}

const withGroup = (...parts: (number[] | Buffer)[]) =>
  Buffer.concat([Buffer.from([DCMI_GROUP]), ...parts.map((p) => Buffer.from(p))]);
const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function watts(ctx: CommandContext): number {
  const s = repository(ctx).byName.get('Pwr Consumption') as AnalogSensor;
  const r = scanSensors(ctx).get(s.number);
  return Math.round(toUnits(s, r?.raw ?? 0));
}

/** Get DCMI Capabilities parameters (table 6-3). */
function capability(p: number, ctx: CommandContext): number[] {
  const log = ctx.state.hw.sel;
  switch (p) {
    case 1:
      // Reserved; platform: power management (bit 0); access: in-band (bit 0), primary LAN via IPMI.
      return [0x00, 0x01, 0x01];
    case 2:
      // SEL: entries (11:0) with "flush" unsupported and no overwrite; identification: GUID,
      // asset tag and the DHCP host name; temperature sampling every second.
      return [...u16(Math.min(log.capacity, 0x0fff)), 0x07, 0x01];
    case 3:
      return [0x20, 0x00]; // power management device: the BMC, channel 0
    case 4:
      return [ctx.channel, 0xff, 0xff]; // primary LAN channel, no secondary LAN, no serial
    case 5:
      return [0x00]; // no rolling-average periods beyond the sampling period
    default:
      throw new IpmiError(Cc.InvalidDataField, `DCMI capability parameter ${p}`);
  }
}

export const dcmiCommands = [
  {
    // Table 6-2: group, DCMI 1.5, parameter revision 02h, data.
    netFn: NetFn.Group,
    cmd: 0x01,
    name: 'getDcmiCapabilities',
    minPriv: Priv.User,
    minLen: 2,
    handle: (d, ctx) => {
      group(d);
      return withGroup([0x01, 0x05, 0x02], capability(d[1] as number, ctx));
    },
  },
  {
    // Table 6-16: mode 01h system power statistics → current, min, max, average (W), timestamp,
    // sampling period (ms), state (bit 6 = measurement active).
    netFn: NetFn.Group,
    cmd: 0x02,
    name: 'getPowerReading',
    minPriv: Priv.User,
    minLen: 4,
    handle: (d, ctx) => {
      group(d);
      if (d[1] !== 0x01) throw new IpmiError(Cc.InvalidDataField, 'only system power statistics');
      const now = watts(ctx);
      const on = ctx.machine.powerState() === 'on';
      // The model's drift bounds: +-4 counts of 2 W around the node's idle draw.
      const min = on ? Math.max(0, now - 8) : now;
      const max = on ? now + 8 : now;
      hardware(ctx);
      return withGroup(u16(now), u16(min), u16(max), u16(now), u32(selNow(ctx)), u32(1000), [0x40]);
    },
  },
  {
    // Table 6-12: reserved (2), exception action, limit (W), correction time (ms), reserved (2),
    // sampling period (s).
    netFn: NetFn.Group,
    cmd: 0x03,
    name: 'getPowerLimit',
    minPriv: Priv.User,
    minLen: 3,
    handle: (d, ctx) => {
      group(d);
      const l = ctx.state.hw.dcmi;
      const record = withGroup(
        [0, 0, l.exceptionAction],
        u16(l.limitWatts),
        u32(l.correctionMs),
        [0, 0],
        u16(l.samplingSec),
      );
      // 80h still carries the record (what a limit would be), as BMCs answer it.
      if (!l.limitSet) throw new IpmiError(NO_LIMIT, 'no power limit set', { data: record });
      return record;
    },
  },
  {
    // Table 6-13: reserved (3), exception action, limit, correction time, reserved (2), sampling.
    netFn: NetFn.Group,
    cmd: 0x04,
    name: 'setPowerLimit',
    minPriv: Priv.Operator,
    minLen: 15,
    handle: (d, ctx) => {
      group(d);
      const action = d[4] as number;
      if (action !== 0x00 && action !== 0x01 && action !== 0x11)
        throw new IpmiError(Cc.InvalidDataField, 'bad exception action');
      const l = ctx.state.hw.dcmi;
      l.exceptionAction = action;
      l.limitWatts = d.readUInt16LE(5);
      l.correctionMs = d.readUInt32LE(7);
      l.samplingSec = d.readUInt16LE(13);
      l.limitSet = true;
      return withGroup([]);
    },
  },
  {
    // Table 6-14: 01h activate, 00h deactivate.
    netFn: NetFn.Group,
    cmd: 0x05,
    name: 'activatePowerLimit',
    minPriv: Priv.Operator,
    minLen: 4,
    handle: (d, ctx) => {
      group(d);
      const a = d[1] as number;
      if (a > 1) throw new IpmiError(Cc.InvalidDataField, 'activate is 00h or 01h');
      if (a === 1 && !ctx.state.hw.dcmi.limitSet) throw new IpmiError(NO_LIMIT, 'no power limit set');
      ctx.state.hw.dcmi.active = a === 1;
      return withGroup([]);
    },
  },
] as const satisfies readonly CommandSpec[];
