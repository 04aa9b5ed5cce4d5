/**
 * Payload activation commands, netFn 06h (IPMI v2.0 chapter 24), for the one payload beyond
 * IPMI messages a BMC serves: Serial-over-LAN, instance 1, held by one session at a time.
 */
import { PayloadCc, SOL_MAX_DATA, type SolService } from '../session/sol.ts';
import type { BmcState } from '../state.ts';
import { PayloadType } from '../wire/session20.ts';
import { Cc, IpmiError } from './completion-codes.ts';
import { type CommandContext, type CommandSpec, NetFn, Priv } from './types.ts';

/** The SOL service of each BMC, registered by the BMC that owns the state. */
const services = new WeakMap<BmcState, { sol: SolService; port: () => number }>();

export function registerSol(state: BmcState, sol: SolService, port: () => number): void {
  services.set(state, { sol, port });
}

function sol(ctx: CommandContext, d: Buffer): { sol: SolService; port: () => number } {
  if (((d[0] as number) & 0x3f) !== PayloadType.Sol) throw new IpmiError(Cc.InvalidDataField, 'payload type');
  const s = services.get(ctx.state);
  if (s === undefined) throw new IpmiError(Cc.InvalidCommand, 'no SOL here');
  return s;
}

function instance(d: Buffer): void {
  if (((d[1] as number) & 0x0f) !== 1) throw new IpmiError(Cc.InvalidDataField, 'only instance 1 exists');
}

export const payloadCommands = [
  {
    // Table 24-2: aux data (4), inbound and outbound payload sizes, UDP port, VLAN (FFFFh none).
    netFn: NetFn.App,
    cmd: 0x48,
    name: 'activatePayload',
    minPriv: Priv.User,
    minLen: 6,
    handle: (d, ctx) => {
      const s = sol(ctx, d);
      instance(d);
      if (ctx.session === undefined || !ctx.rmcpPlus)
        throw new IpmiError(Cc.InvalidCommand, 'SOL needs RMCP+');
      const need = ctx.state.hw.sol.authentication & 0x0f;
      if (ctx.session.privilege < need) throw new IpmiError(Cc.InsufficientPrivilege);
      const cc = s.sol.activate(ctx.session.id);
      if (cc !== 0)
        throw new IpmiError(cc, cc === PayloadCc.AlreadyActive ? 'SOL already active' : 'SOL disabled');
      const out = Buffer.alloc(12);
      out.writeUInt16LE(SOL_MAX_DATA, 4);
      out.writeUInt16LE(SOL_MAX_DATA, 6);
      out.writeUInt16LE(s.port(), 8);
      out.writeUInt16LE(0xffff, 10);
      return out;
    },
  },
  {
    // Table 24-3. 80h: payload already deactivated.
    netFn: NetFn.App,
    cmd: 0x49,
    name: 'deactivatePayload',
    minPriv: Priv.User,
    minLen: 6,
    handle: (d, ctx) => {
      const s = sol(ctx, d);
      instance(d);
      const owner = s.sol.sessionId;
      if (owner === undefined) throw new IpmiError(0x80, 'SOL not active');
      // Another session may end it only with administrator privilege, as with Close Session.
      if (owner !== ctx.session?.id && (ctx.session?.privilege ?? 0) < Priv.Admin)
        throw new IpmiError(Cc.InsufficientPrivilege);
      s.sol.deactivate();
      return Buffer.alloc(0);
    },
  },
  {
    // Table 24-4: instance capacity, then one bit per instance.
    netFn: NetFn.App,
    cmd: 0x4a,
    name: 'getPayloadActivationStatus',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const s = sol(ctx, d);
      return Buffer.from([0x01, s.sol.sessionId === undefined ? 0x00 : 0x01, 0x00]);
    },
  },
  {
    // Table 24-5: the owning session's ID and, for SOL, the serial port (1 = the system's COM1).
    netFn: NetFn.App,
    cmd: 0x4b,
    name: 'getPayloadInstanceInfo',
    minPriv: Priv.User,
    minLen: 2,
    handle: (d, ctx) => {
      const s = sol(ctx, d);
      instance(d);
      const out = Buffer.alloc(12);
      const owner = s.sol.sessionId;
      if (owner !== undefined) {
        out.writeUInt32LE(owner, 0);
        out[4] = 0x01;
      }
      return out;
    },
  },
  {
    // Table 24-7: payloads 0-7 this user may activate (bit 1 = SOL), then OEM payloads.
    netFn: NetFn.App,
    cmd: 0x4d,
    name: 'getUserPayloadAccess',
    minPriv: Priv.Operator,
    minLen: 2,
    handle: (d, ctx) => {
      const u = ctx.state.users[((d[1] as number) & 0x3f) - 1];
      if (u === undefined) throw new IpmiError(Cc.ParameterOutOfRange, 'no such user');
      return Buffer.from([u.enabled ? 0x02 : 0x00, 0x00, 0x00, 0x00]);
    },
  },
  {
    // Table 24-8: standard payloads (IPMI, SOL), session-setup payloads 10h-15h, no OEM payloads.
    netFn: NetFn.App,
    cmd: 0x4e,
    name: 'getChannelPayloadSupport',
    minPriv: Priv.User,
    minLen: 1,
    handle: (d, ctx) => {
      const ch = (d[0] as number) & 0x0f;
      if (ch !== 0x0e && ch !== ctx.channel) throw new IpmiError(Cc.InvalidDataField, `no channel ${ch}`);
      return Buffer.from([0x03, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00]);
    },
  },
] as const satisfies readonly CommandSpec[];
