/**
 * IPMI v1.5 session activation (IPMI v2.0 sections 22.16-22.17, tables 22-17..22-21), as
 * `ipmitool -I lan` does it: Get Session Challenge (outside a session) hands out a temporary
 * session ID and a challenge; Activate Session, authenticated with the chosen auth type under
 * that temporary ID, proves the password and gets the real session ID and inbound sequence.
 */
import type { Clock, Rng } from '../../../../common/src/index.ts';
import { Cc } from '../commands/completion-codes.ts';
import { Priv } from '../commands/types.ts';
import { authCode15 } from '../crypto/auth15.ts';
import { type BmcState, findUserByName, NO_ACCESS } from '../state.ts';
import { AuthType, type Session15 as Session15Header } from '../wire/session15.ts';
import { SeqWindow, type Session15, type SessionTable } from './session-table.ts';

export interface Activate15Deps {
  readonly state: BmcState;
  readonly sessions: SessionTable;
  readonly rng: Rng;
  readonly clock: Clock;
}

export interface CommandReply {
  readonly cc: number;
  readonly data: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function authTypeEnabled(state: BmcState, t: number): boolean {
  if (t === AuthType.None) return state.auth15.none;
  if (t === AuthType.Md5) return state.auth15.md5;
  if (t === AuthType.Password) return state.auth15.password;
  return false;
}

const unpad = (b: Buffer): Buffer => {
  const end = b.indexOf(0);
  return b.subarray(0, end === -1 ? b.length : end);
};

/** Get Session Challenge (table 22-17). 81h invalid user name, 82h null user name not enabled. */
export function getSessionChallenge(d: Activate15Deps, data: Buffer): CommandReply {
  if (data.length < 17) return { cc: Cc.RequestLengthInvalid, data: EMPTY };
  const authType = (data[0] as number) & 0x0f;
  if (!authTypeEnabled(d.state, authType)) return { cc: Cc.InvalidDataField, data: EMPTY };
  const name = unpad(data.subarray(1, 17));
  const user = findUserByName(d.state, name);
  if (user === undefined || !user.ipmiMessaging) return { cc: name.length === 0 ? 0x82 : 0x81, data: EMPTY };
  if (!d.sessions.hasRoom()) return { cc: Cc.OutOfSpace, data: EMPTY };
  const id = d.sessions.newId();
  const challenge = d.rng.bytes(16);
  const s: Session15 = {
    kind: 'v15',
    id,
    state: 'challenge',
    authType,
    challenge,
    userId: user.id,
    maxPrivilege: 0,
    privilege: 0,
    lastActivity: d.clock.now(),
    closing: false,
    context: undefined,
    inbound: new SeqWindow(1),
    outSeq: 0,
    outSeqStart: 0,
  };
  d.sessions.add(s);
  const out = Buffer.alloc(20);
  out.writeUInt32LE(id, 0);
  challenge.copy(out, 4);
  return { cc: Cc.Ok, data: out };
}

/** Checks a v1.5 packet's auth code against the user's password. */
export function verifyAuth15(state: BmcState, s: Session15, h: Session15Header): boolean {
  if (h.authType !== s.authType) return false;
  if (h.authType === AuthType.None) return true;
  const user = state.users[s.userId - 1];
  if (user === undefined || h.authCode === undefined) return false;
  const expected = authCode15(
    h.authType,
    Buffer.from(user.password, 'latin1'),
    h.sessionId,
    h.seq,
    h.message,
  );
  return expected?.equals(h.authCode) === true;
}

export interface Activation {
  readonly reply: CommandReply;
  /** The session now active, whose keys sign the reply. */
  readonly session: Session15 | undefined;
}

/**
 * Activate Session (table 22-18..22-21). The caller has checked the packet's auth code against
 * the pending session. 86h: requested privilege above the user's limit.
 */
export function activateSession(d: Activate15Deps, pending: Session15, data: Buffer): Activation {
  if (data.length < 22) return { reply: { cc: Cc.RequestLengthInvalid, data: EMPTY }, session: undefined };
  const authType = (data[0] as number) & 0x0f;
  const maxPriv = (data[1] as number) & 0x0f;
  const challenge = data.subarray(2, 18);
  const outSeq = data.readUInt32LE(18);
  if (authType !== pending.authType || !challenge.equals(pending.challenge)) {
    return { reply: { cc: Cc.InvalidDataField, data: EMPTY }, session: undefined };
  }
  const user = d.state.users[pending.userId - 1];
  const limit = Math.min(
    user === undefined || user.privilege === NO_ACCESS ? 0 : user.privilege,
    d.state.channelPrivilegeLimit,
  );
  if (maxPriv < Priv.Callback || maxPriv > limit)
    return { reply: { cc: 0x86, data: EMPTY }, session: undefined };
  d.sessions.delete(pending.id);
  const id = d.sessions.newId();
  let inbound = d.rng.bytes(4).readUInt32LE(0);
  if (inbound === 0) inbound = 1;
  const s: Session15 = {
    ...pending,
    id,
    state: 'active',
    maxPrivilege: maxPriv,
    privilege: Math.min(Priv.User, maxPriv),
    lastActivity: d.clock.now(),
    inbound: new SeqWindow(inbound),
    // The Activate Session answer carries the console's initial outbound seq; later answers
    // count on from there. (FreeIPMI rejects a repeat of the same number.)
    outSeq: (outSeq + 1) >>> 0,
    outSeqStart: outSeq,
  };
  d.sessions.add(s);
  const out = Buffer.alloc(10);
  out[0] = authType;
  out.writeUInt32LE(id, 1);
  out.writeUInt32LE(inbound, 5);
  out[9] = maxPriv;
  return { reply: { cc: Cc.Ok, data: out }, session: s };
}
