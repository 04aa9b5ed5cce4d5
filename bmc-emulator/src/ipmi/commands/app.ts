/**
 * Application commands, netFn 06h (IPMI v2.0 chapters 20 and 22). Get Session Challenge and
 * Activate Session are not here: they create sessions and belong to the session layer.
 */
import { CIPHER_SUITES, cipherSuiteRecords } from '../crypto/cipher-suites.ts';
import { MAX_USERS, NO_ACCESS, type UserRecord } from '../state.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

const EMPTY = Buffer.alloc(0);
/** IPMI Forum IANA 7154 (001BF2h), which Get Channel Info reports for standard channels. */
const IPMI_FORUM_IANA = [0xf2, 0x1b, 0x00];
const CURRENT_CHANNEL = 0x0e;

/** Resolves the channel byte of a request: 0Eh means "the one this request came in on". */
function lanChannel(byte: number, ctx: CommandContext): number {
  const ch = byte & 0x0f;
  const resolved = ch === CURRENT_CHANNEL ? ctx.channel : ch;
  if (resolved !== ctx.channel) throw new IpmiError(Cc.InvalidDataField, `channel ${ch} does not exist`);
  return resolved;
}

function user(ctx: CommandContext, idByte: number): UserRecord {
  const id = idByte & 0x3f;
  const u = ctx.state.users[id - 1];
  if (id === 0 || u === undefined) throw new IpmiError(Cc.ParameterOutOfRange, `user ID ${id} out of range`);
  return u;
}

const padded = (s: string, n: number): Buffer => {
  const b = Buffer.alloc(n);
  b.write(s, 'latin1');
  return b;
};

/** Strips the NUL padding of fixed-size name/password fields. */
const unpad = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.subarray(0, end === -1 ? b.length : end).toString('latin1');
};

export const appCommands = [
  {
    // Table 20-2. Byte 6 "additional device support": chassis device (bit 7), FRU inventory (3),
    // SEL (2), SDR repository (1), sensor device (0) — ipmitool's `fru print` asks bit 3 first.
    netFn: NetFn.App,
    cmd: 0x01,
    name: 'getDeviceId',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, { state: { profile: p } }) =>
      Buffer.from([
        p.deviceId,
        p.deviceRevision & 0x0f,
        p.firmwareMajor & 0x7f,
        p.firmwareMinor,
        0x02,
        0x8f,
        p.manufacturerId & 0xff,
        (p.manufacturerId >> 8) & 0xff,
        (p.manufacturerId >> 16) & 0x0f,
        p.productId & 0xff,
        (p.productId >> 8) & 0xff,
        ...p.auxFirmware,
      ]),
  },
  {
    // Table 20-5/20-6: respond, then the BMC goes away for its reset time.
    netFn: NetFn.App,
    cmd: 0x02,
    name: 'coldReset',
    minPriv: Priv.Admin,
    minLen: 0,
    handle: (_d, ctx) => {
      ctx.services.reset('cold');
      return EMPTY;
    },
  },
  {
    netFn: NetFn.App,
    cmd: 0x03,
    name: 'warmReset',
    minPriv: Priv.Admin,
    minLen: 0,
    handle: (_d, ctx) => {
      ctx.services.reset('warm');
      return EMPTY;
    },
  },
  {
    // Table 20-10: 55h = no error, 00h.
    netFn: NetFn.App,
    cmd: 0x04,
    name: 'getSelfTestResults',
    minPriv: Priv.User,
    minLen: 0,
    handle: () => Buffer.from([0x55, 0x00]),
  },
  {
    netFn: NetFn.App,
    cmd: 0x08,
    name: 'getDeviceGuid',
    minPriv: Priv.User,
    minLen: 0,
    handle: (_d, ctx) => Buffer.from(ctx.state.deviceGuid),
  },
  {
    // Table 22-15: may be asked outside a session.
    netFn: NetFn.App,
    cmd: 0x37,
    name: 'getSystemGuid',
    minPriv: Priv.None,
    minLen: 0,
    handle: (_d, ctx) => Buffer.from(ctx.state.systemGuid),
  },
  {
    // Table 22-15 (Get Channel Authentication Capabilities). Request byte 1 bit 7 asks for the
    // IPMI v2.0 extended data; byte 2 is the privilege level the console wants.
    netFn: NetFn.App,
    cmd: 0x38,
    name: 'getChannelAuthCapabilities',
    minPriv: Priv.None,
    minLen: 2,
    handle: (d, ctx) => {
      const v2 = ((d[0] as number) & 0x80) !== 0;
      const channel = lanChannel(d[0] as number, ctx);
      const priv = (d[1] as number) & 0x0f;
      if (priv < Priv.Callback || priv > Priv.Oem)
        throw new IpmiError(Cc.InvalidDataField, 'bad privilege level');
      const a = ctx.state.auth15;
      const types = (v2 ? 0x80 : 0) | (a.none ? 0x01 : 0) | (a.md5 ? 0x04 : 0) | (a.password ? 0x10 : 0);
      const anon = ctx.state.users[0];
      const nullUsers = anon?.enabled === true;
      const status = (ctx.state.kg === undefined ? 0 : 0x20) | 0x04 | (nullUsers ? 0x03 : 0);
      const ext = v2 ? 0x03 : 0x00;
      return Buffer.from([channel, types, status, ext, 0, 0, 0, 0]);
    },
  },
  {
    // Table 22-22: 0 = no change (returns the present level).
    netFn: NetFn.App,
    cmd: 0x3b,
    name: 'setSessionPrivilegeLevel',
    minPriv: Priv.Callback,
    minLen: 1,
    handle: (d, ctx) => {
      const s = ctx.session;
      if (s === undefined) throw new IpmiError(Cc.InvalidCommand);
      const want = (d[0] as number) & 0x0f;
      if (want === 0) return Buffer.from([s.privilege]);
      if (want < Priv.User || want > Priv.Oem)
        throw new IpmiError(Cc.InvalidDataField, 'bad privilege level');
      // 81h: requested level exceeds the user's or the channel's limit.
      if (want > s.maxPrivilege) throw new IpmiError(0x81, 'privilege above session maximum');
      s.setPrivilege(want);
      return Buffer.from([want]);
    },
  },
  {
    // Table 22-24. 87h: invalid session ID in request.
    netFn: NetFn.App,
    cmd: 0x3c,
    name: 'closeSession',
    minPriv: Priv.Callback,
    minLen: 4,
    handle: (d, ctx) => {
      const id = d.readUInt32LE(0);
      if (ctx.session !== undefined && id === ctx.session.id) {
        ctx.session.close();
        return EMPTY;
      }
      // Closing another session needs administrator privilege (section 22.19).
      if ((ctx.session?.privilege ?? 0) < Priv.Admin) throw new IpmiError(Cc.InsufficientPrivilege);
      if (!ctx.services.closeSession(id)) throw new IpmiError(0x87, 'no such session');
      return EMPTY;
    },
  },
  {
    // Table 22-28: access mode "always available" (010b), PEF alerting disabled (bit 5).
    netFn: NetFn.App,
    cmd: 0x41,
    name: 'getChannelAccess',
    minPriv: Priv.User,
    minLen: 2,
    handle: (d, ctx) => {
      lanChannel(d[0] as number, ctx);
      const which = ((d[1] as number) >> 6) & 3;
      if (which !== 1 && which !== 2)
        throw new IpmiError(Cc.InvalidDataField, 'choose volatile or non-volatile');
      return Buffer.from([0x20 | 0x02, ctx.state.channelPrivilegeLimit]);
    },
  },
  {
    // Table 22-29: 802.3 LAN (04h), IPMB-1.0 protocol (01h), multi-session (10b) with the count.
    netFn: NetFn.App,
    cmd: 0x42,
    name: 'getChannelInfo',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const ch = lanChannel(d[0] as number, ctx);
      const sessions = Math.min(ctx.services.activeSessions(), 0x3f);
      return Buffer.from([ch, 0x04, 0x01, 0x80 | sessions, ...IPMI_FORUM_IANA, 0, 0]);
    },
  },
  {
    // Table 22-33. Byte 1 bit 7 enables changing the callback-only/link/messaging bits.
    netFn: NetFn.App,
    cmd: 0x43,
    name: 'setUserAccess',
    minPriv: Priv.Admin,
    minLen: 3,
    handle: (d, ctx) => {
      lanChannel(d[0] as number, ctx);
      const u = user(ctx, d[1] as number);
      const priv = (d[2] as number) & 0x0f;
      if (priv !== NO_ACCESS && (priv < Priv.Callback || priv > Priv.Oem)) {
        throw new IpmiError(Cc.InvalidDataField, 'bad privilege limit');
      }
      const b0 = d[0] as number;
      if (b0 & 0x80) {
        u.callbackOnly = (b0 & 0x40) !== 0;
        u.linkAuth = (b0 & 0x20) !== 0;
        u.ipmiMessaging = (b0 & 0x10) !== 0;
      }
      u.privilege = priv;
      return EMPTY;
    },
  },
  {
    // Table 22-34: max IDs, enabled count (bits 7:6 = 01b "enabled" for v2.0 errata), fixed names, access.
    netFn: NetFn.App,
    cmd: 0x44,
    name: 'getUserAccess',
    minPriv: Priv.Operator,
    minLen: 2,
    handle: (d, ctx) => {
      lanChannel(d[0] as number, ctx);
      const u = user(ctx, d[1] as number);
      const enabled = ctx.state.users.filter((x) => x.enabled).length;
      const access =
        (u.callbackOnly ? 0x40 : 0) | (u.linkAuth ? 0x20 : 0) | (u.ipmiMessaging ? 0x10 : 0) | u.privilege;
      return Buffer.from([MAX_USERS, (u.enabled ? 0x40 : 0x80) | enabled, 0x01, access]);
    },
  },
  {
    // Table 22-35. User 1 is the null user: its (empty) name is fixed.
    netFn: NetFn.App,
    cmd: 0x45,
    name: 'setUserName',
    minPriv: Priv.Admin,
    minLen: 17,
    handle: (d, ctx) => {
      const u = user(ctx, d[0] as number);
      if (u.id === 1) throw new IpmiError(Cc.InvalidDataField, 'user 1 has a fixed name');
      u.name = unpad(d.subarray(1, 17));
      return EMPTY;
    },
  },
  {
    netFn: NetFn.App,
    cmd: 0x46,
    name: 'getUserName',
    minPriv: Priv.Operator,
    minLen: 1,
    handle: (d, ctx) => padded(user(ctx, d[0] as number).name, 16),
  },
  {
    // Table 22-37. Operation 00 disable, 01 enable, 10 set password, 11 test password;
    // byte 1 bit 7 selects a 20-byte password. 80h = test failed, 81h = wrong password size.
    netFn: NetFn.App,
    cmd: 0x47,
    name: 'setUserPassword',
    minPriv: Priv.Admin,
    minLen: 2,
    handle: (d, ctx) => {
      const u = user(ctx, d[0] as number);
      const op = (d[1] as number) & 0x03;
      const size = ((d[0] as number) & 0x80) !== 0 ? 20 : 16;
      if (op === 0 || op === 1) {
        u.enabled = op === 1;
        return EMPTY;
      }
      if (d.length !== 2 + size)
        throw new IpmiError(Cc.RequestLengthInvalid, `password field must be ${size} bytes`);
      const pw = d.subarray(2, 2 + size);
      if (op === 2) {
        u.password = unpad(pw);
        return EMPTY;
      }
      if (Buffer.byteLength(u.password, 'latin1') > size) throw new IpmiError(0x81, 'wrong password size');
      if (!padded(u.password, size).equals(pw)) throw new IpmiError(0x80, 'password test failed');
      return EMPTY;
    },
  },
  {
    // Table 22-18. Byte 3 bit 7: list by cipher suite (records) instead of by algorithm; bits 5:0
    // index the 16-byte chunk. A short chunk ends the list.
    netFn: NetFn.App,
    cmd: 0x54,
    name: 'getChannelCipherSuites',
    minPriv: Priv.None,
    minLen: 3,
    handle: (d, ctx) => {
      const ch = lanChannel(d[0] as number, ctx);
      if (((d[1] as number) & 0x3f) !== 0)
        throw new IpmiError(Cc.InvalidDataField, 'only the IPMI payload has suites');
      const bySuite = ((d[2] as number) & 0x80) !== 0;
      const index = (d[2] as number) & 0x3f;
      const enabled = ctx.state.cipherSuites;
      let all: Buffer;
      if (bySuite) {
        all = cipherSuiteRecords(enabled);
      } else {
        const algs = new Set<number>();
        for (const s of CIPHER_SUITES.filter((x) => enabled.includes(x.id))) {
          algs
            .add(s.auth)
            .add(0x40 | s.integrity)
            .add(0x80 | s.confidentiality);
        }
        all = Buffer.from([...algs]);
      }
      return Buffer.concat([Buffer.from([ch]), all.subarray(index * 16, index * 16 + 16)]);
    },
  },
] as const satisfies readonly CommandSpec[];
