/**
 * Transport commands, netFn 0Ch (IPMI v2.0 chapters 23 LAN and 26 SOL): configuration
 * parameters of LAN channel 1 and of its Serial-over-LAN payload, kept in BmcState.
 */
import { CIPHER_SUITES } from '../crypto/cipher-suites.ts';
import type { LanConfig } from '../model/state.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

/** Parameter revision reported by both commands (tables 23-3 and 26-4). */
const REVISION = 0x11;
/** Completion codes of the configuration commands: 80h not supported, 82h read-only. */
const NOT_SUPPORTED = 0x80;
const READ_ONLY = 0x82;

function channel(byte: number, ctx: CommandContext): void {
  const ch = byte & 0x0f;
  if (ch !== 0x0e && ch !== ctx.channel)
    throw new IpmiError(Cc.InvalidDataField, `channel ${ch} is not a LAN channel`);
}

const ip4 = (s: string) => Buffer.from(s.split('.').map((x) => Number(x) & 0xff));
const mac6 = (s: string) => Buffer.from(s.split(':').map((x) => Number.parseInt(x, 16) & 0xff));
const ipStr = (b: Buffer) => [...b.subarray(0, 4)].join('.');
const macStr = (b: Buffer) => [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

function authTypes(ctx: CommandContext): number {
  const a = ctx.state.auth15;
  return (a.none ? 0x01 : 0) | (a.md5 ? 0x04 : 0) | (a.password ? 0x10 : 0);
}

/** Table 23-4, the parameters `ipmitool lan print` reads. */
function getLanParam(p: number, ctx: CommandContext): Buffer {
  const lan = ctx.state.hw.lan;
  switch (p) {
    case 0:
      return Buffer.from([0x00]);
    case 1:
      return Buffer.from([authTypes(ctx)]);
    case 2: {
      const t = authTypes(ctx);
      return Buffer.from([t, t, t, t, 0x00]); // callback, user, operator, admin, OEM
    }
    case 3:
      return ip4(lan.ip === '' ? '0.0.0.0' : lan.ip);
    case 4:
      return Buffer.from([lan.ipSource]);
    case 5:
      return mac6(lan.mac);
    case 6:
      return ip4(lan.netmask);
    case 7:
      return Buffer.from([0x40, 0x40, 0x10]); // TTL 64, don't fragment, TOS minimise delay
    case 10:
      return Buffer.from([lan.arpControl]);
    case 11:
      return Buffer.from([lan.garpInterval]);
    case 12:
      return ip4(lan.gateway);
    case 13:
      return mac6(lan.gatewayMac);
    case 14:
      return ip4(lan.backupGateway);
    case 15:
      return mac6('00:00:00:00:00:00');
    case 16: {
      const b = Buffer.alloc(18);
      b.write(lan.community, 'latin1');
      return b;
    }
    case 20:
      return Buffer.from([lan.vlanId & 0xff, (lan.vlanId === 0 ? 0 : 0x80) | ((lan.vlanId >> 8) & 0x0f)]);
    case 21:
      return Buffer.from([lan.vlanPriority & 0x07]);
    case 22:
      return Buffer.from([suites(ctx).length]);
    case 23:
      return Buffer.from([0x00, ...suites(ctx)]);
    case 24: {
      // Byte 1 reserved, then one nibble per cipher suite entry (entry 0 in the low nibble).
      const out = Buffer.alloc(9);
      for (let i = 0; i < 16; i++) {
        const v = i < suites(ctx).length ? (lan.cipherPrivileges[i] ?? 4) & 0x0f : 0;
        out[1 + (i >> 1)] = (out[1 + (i >> 1)] as number) | (i & 1 ? v << 4 : v);
      }
      return out;
    }
    default:
      throw new IpmiError(NOT_SUPPORTED, `LAN parameter ${p} not supported`);
  }
}

/** Cipher suite IDs offered, in the order Get Channel Cipher Suites lists them. */
function suites(ctx: CommandContext): number[] {
  return CIPHER_SUITES.filter((s) => ctx.state.cipherSuites.includes(s.id)).map((s) => s.id);
}

const LAN_SETTERS: Readonly<Record<number, { len: number; set: (lan: LanConfig, d: Buffer) => void }>> = {
  0: { len: 1, set: () => {} },
  3: {
    len: 4,
    set: (l, d) => {
      l.ip = ipStr(d);
    },
  },
  4: {
    len: 1,
    set: (l, d) => {
      const v = (d[0] as number) & 0x0f;
      if (v > 4) throw new IpmiError(Cc.InvalidDataField, 'reserved IP address source');
      l.ipSource = v;
    },
  },
  6: {
    len: 4,
    set: (l, d) => {
      l.netmask = ipStr(d);
    },
  },
  10: {
    len: 1,
    set: (l, d) => {
      l.arpControl = (d[0] as number) & 0x03;
    },
  },
  11: {
    len: 1,
    set: (l, d) => {
      l.garpInterval = d[0] as number;
    },
  },
  12: {
    len: 4,
    set: (l, d) => {
      l.gateway = ipStr(d);
    },
  },
  13: {
    len: 6,
    set: (l, d) => {
      l.gatewayMac = macStr(d);
    },
  },
  14: {
    len: 4,
    set: (l, d) => {
      l.backupGateway = ipStr(d);
    },
  },
  16: {
    len: 18,
    set: (l, d) => {
      l.community = d.subarray(0, 18).toString('latin1').replace(/\0.*$/s, '');
    },
  },
  20: {
    len: 2,
    set: (l, d) => {
      l.vlanId = ((d[1] as number) & 0x80) === 0 ? 0 : d.readUInt16LE(0) & 0x0fff;
    },
  },
  21: {
    len: 1,
    set: (l, d) => {
      l.vlanPriority = (d[0] as number) & 0x07;
    },
  },
  24: {
    len: 9,
    set: (l, d) => {
      for (let i = 0; i < 16; i++) {
        const b = d[1 + (i >> 1)] as number;
        const v = i & 1 ? b >> 4 : b & 0x0f;
        if (v > Priv.Oem) throw new IpmiError(Cc.InvalidDataField, 'bad cipher suite privilege');
        l.cipherPrivileges[i] = v;
      }
    },
  },
};

/** SOL configuration parameters (table 26-4). */
function getSolParam(p: number, ctx: CommandContext): Buffer {
  const s = ctx.state.hw.sol;
  switch (p) {
    case 0:
      return Buffer.from([0x00]);
    case 1:
      return Buffer.from([s.enabled ? 0x01 : 0x00]);
    case 2:
      return Buffer.from([s.authentication]);
    case 3:
      return Buffer.from([s.accumulateInterval, s.sendThreshold]);
    case 4:
      return Buffer.from([s.retryCount & 0x07, s.retryInterval]);
    case 5:
      return Buffer.from([s.nvBitRate]);
    case 6:
      return Buffer.from([s.bitRate]);
    case 7:
      return Buffer.from([0x00]); // payload channel: the channel the parameters were read on
    case 8:
      return Buffer.from([0x6f, 0x02]); // SOL payload port 623
    default:
      throw new IpmiError(NOT_SUPPORTED, `SOL parameter ${p} not supported`);
  }
}

function setSolParam(p: number, d: Buffer, ctx: CommandContext): void {
  const s = ctx.state.hw.sol;
  const need = (n: number) => {
    if (d.length < n) throw new IpmiError(Cc.RequestLengthInvalid);
  };
  switch (p) {
    case 0:
      need(1);
      return;
    case 1:
      need(1);
      s.enabled = ((d[0] as number) & 1) === 1;
      return;
    case 2:
      need(1);
      s.authentication = (d[0] as number) & 0xcf;
      return;
    case 3:
      need(2);
      if (d[0] === 0 || d[1] === 0) throw new IpmiError(Cc.InvalidDataField, 'zero accumulate interval');
      s.accumulateInterval = d[0] as number;
      s.sendThreshold = d[1] as number;
      return;
    case 4:
      need(2);
      s.retryCount = (d[0] as number) & 0x07;
      s.retryInterval = d[1] as number;
      return;
    case 5:
    case 6: {
      need(1);
      const rate = (d[0] as number) & 0x0f;
      if (![0, 6, 7, 8, 9, 10].includes(rate)) throw new IpmiError(Cc.InvalidDataField, 'bad bit rate');
      if (p === 5) s.nvBitRate = rate;
      else s.bitRate = rate;
      return;
    }
    case 7:
    case 8:
      throw new IpmiError(READ_ONLY, `SOL parameter ${p} is read-only`);
    default:
      throw new IpmiError(NOT_SUPPORTED, `SOL parameter ${p} not supported`);
  }
}

export const transportCommands = [
  {
    // Table 23-3: channel, parameter → revision and data.
    netFn: NetFn.Transport,
    cmd: 0x01,
    name: 'setLanConfigParameters',
    minPriv: Priv.Admin,
    minLen: 2,
    handle: (d, ctx) => {
      channel(d[0] as number, ctx);
      const p = d[1] as number;
      const setter = LAN_SETTERS[p];
      if (setter === undefined) {
        if (p <= 24) throw new IpmiError(READ_ONLY, `LAN parameter ${p} is read-only`);
        throw new IpmiError(NOT_SUPPORTED, `LAN parameter ${p} not supported`);
      }
      const data = d.subarray(2);
      if (data.length < setter.len) throw new IpmiError(Cc.RequestLengthInvalid);
      setter.set(ctx.state.hw.lan, data);
      return Buffer.alloc(0);
    },
  },
  {
    // Table 23-4: byte 1 bit 7 asks for the revision only.
    netFn: NetFn.Transport,
    cmd: 0x02,
    name: 'getLanConfigParameters',
    minPriv: Priv.Operator,
    minLen: 4,
    handle: (d, ctx) => {
      channel(d[0] as number, ctx);
      if (((d[0] as number) & 0x80) !== 0) return Buffer.from([REVISION]);
      return Buffer.concat([Buffer.from([REVISION]), getLanParam(d[1] as number, ctx)]);
    },
  },
  {
    netFn: NetFn.Transport,
    cmd: 0x21,
    name: 'setSolConfigParameters',
    minPriv: Priv.Admin,
    minLen: 2,
    handle: (d, ctx) => {
      channel(d[0] as number, ctx);
      setSolParam(d[1] as number, d.subarray(2), ctx);
      return Buffer.alloc(0);
    },
  },
  {
    // Table 26-4: parameter 7 answers the channel; byte 1 bit 7 asks for the revision only.
    netFn: NetFn.Transport,
    cmd: 0x22,
    name: 'getSolConfigParameters',
    minPriv: Priv.User,
    minLen: 4,
    handle: (d, ctx) => {
      channel(d[0] as number, ctx);
      if (((d[0] as number) & 0x80) !== 0) return Buffer.from([REVISION]);
      const p = d[1] as number;
      const data = p === 7 ? Buffer.from([ctx.channel]) : getSolParam(p, ctx);
      return Buffer.concat([Buffer.from([REVISION]), data]);
    },
  },
] as const satisfies readonly CommandSpec[];
