/**
 * RMCP+ session establishment (IPMI v2.0 sections 13.17-13.20, 13.31): one function per step,
 * each refusing to run unless the previous step left the session in the right state (HAP
 * `HAPServer.ts`: M3 only after M2). Every step answers with a status code from table 13-15
 * rather than silence, so a console can tell a wrong password from a lost packet.
 */
import type { Clock, Rng } from '../../../../common/src/index.ts';
import { Priv } from '../commands/types.ts';
import { AesCbc128 } from '../crypto/aes-cbc.ts';
import {
  AuthAlg,
  CIPHER_SUITES,
  type CipherSuite,
  ConfAlg,
  findSuite,
  IntegrityAlg,
} from '../crypto/cipher-suites.ts';
import { integrityCodec } from '../crypto/integrity.ts';
import {
  deriveKey,
  keyFromPassword,
  type RakpContext,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  rakpHash,
  sessionIntegrityKey,
} from '../crypto/rakp.ts';
import { type BmcState, findUserByName, NO_ACCESS } from '../state.ts';
import { Reader } from '../wire/reader.ts';
import {
  decodeOpenSessionRequest,
  decodeRakp1,
  decodeRakp3,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  RakpStatus,
} from '../wire/rmcpplus.ts';
import { PayloadType } from '../wire/session20.ts';
import { Writer } from '../wire/writer.ts';
import { SeqWindow, type Session20, type SessionTable } from './session-table.ts';

export interface HandshakeDeps {
  readonly state: BmcState;
  readonly sessions: SessionTable;
  readonly rng: Rng;
  readonly clock: Clock;
}

export interface HandshakeReply {
  readonly payloadType: number;
  readonly payload: Buffer;
}

const reply = (payloadType: number, fill: (w: Writer) => void): HandshakeReply => {
  const w = new Writer(64);
  fill(w);
  return { payloadType, payload: w.finish() };
};

/** Why no suite matched: the first unsupported algorithm, else "no such combination". */
function suiteMismatch(auth: number, integrity: number, conf: number): number {
  if (!CIPHER_SUITES.some((s) => s.auth === auth)) return RakpStatus.InvalidAuthAlgorithm;
  if (!CIPHER_SUITES.some((s) => s.integrity === integrity)) return RakpStatus.InvalidIntegrityAlgorithm;
  if (!CIPHER_SUITES.some((s) => s.confidentiality === conf))
    return RakpStatus.InvalidConfidentialityAlgorithm;
  return RakpStatus.NoCipherSuiteMatch;
}

/** Open Session Request → Response (tables 13-9, 13-10). */
export function openSession(d: HandshakeDeps, payload: Buffer): HandshakeReply {
  const req = decodeOpenSessionRequest(new Reader(payload));
  const fail = (status: number) =>
    reply(PayloadType.OpenSessionResponse, (w) =>
      encodeOpenSessionResponse(
        { tag: req.tag, status, maxPrivilege: 0, consoleSessionId: req.consoleSessionId },
        w,
      ),
    );
  if (req.maxPrivilege > Priv.Oem) return fail(RakpStatus.InvalidRole);
  const suite = findSuite(
    d.state.cipherSuites,
    req.auth.algorithm,
    req.integrity.algorithm,
    req.confidentiality.algorithm,
  );
  if (suite === undefined) {
    return fail(suiteMismatch(req.auth.algorithm, req.integrity.algorithm, req.confidentiality.algorithm));
  }
  if (!d.sessions.hasRoom()) return fail(RakpStatus.InsufficientResources);
  const id = d.sessions.newId();
  const s: Session20 = {
    kind: 'v20',
    id,
    state: 'opened',
    consoleSessionId: req.consoleSessionId,
    suite,
    hash: rakpHash(suite.auth),
    requestedMax: req.maxPrivilege,
    tag: req.tag,
    role: 0,
    username: Buffer.alloc(0),
    consoleRandom: Buffer.alloc(16),
    bmcRandom: Buffer.alloc(16),
    integrity: undefined,
    aes: undefined,
    rakp4: undefined,
    rakp3AuthCode: undefined,
    inbound: new SeqWindow(1),
    outSeq: 0,
    userId: 0,
    maxPrivilege: 0,
    privilege: 0,
    lastActivity: d.clock.now(),
    context: undefined,
    closing: false,
  };
  d.sessions.add(s);
  const maxPrivilege = req.maxPrivilege === 0 ? d.state.channelPrivilegeLimit : req.maxPrivilege;
  return reply(PayloadType.OpenSessionResponse, (w) =>
    encodeOpenSessionResponse(
      {
        tag: req.tag,
        status: RakpStatus.Ok,
        maxPrivilege,
        consoleSessionId: req.consoleSessionId,
        accepted: {
          bmcSessionId: id,
          auth: { type: 0, algorithm: suite.auth },
          integrity: { type: 1, algorithm: suite.integrity },
          confidentiality: { type: 2, algorithm: suite.confidentiality },
        },
      },
      w,
    ),
  );
}

const ctxOf = (s: Session20): RakpContext | undefined =>
  s.hash === undefined
    ? undefined
    : {
        hash: s.hash,
        consoleSessionId: s.consoleSessionId,
        bmcSessionId: s.id,
        consoleRandom: s.consoleRandom,
        bmcRandom: s.bmcRandom,
        bmcGuid: Buffer.alloc(0), // filled by callers that need it
        role: s.role,
        username: s.username,
      };

/** RAKP Message 1 → 2 (tables 13-11, 13-12). A repeated RAKP 1 (lost RAKP 2) starts over. */
export function rakp1(d: HandshakeDeps, payload: Buffer): HandshakeReply | undefined {
  const m = decodeRakp1(new Reader(payload));
  const s = d.sessions.get(m.bmcSessionId);
  // Unknown session: nobody to answer to with a console session ID, so drop (13.20). An
  // established session is never touched by handshake messages: they are unauthenticated, so
  // anyone could send one naming it.
  if (s === undefined || s.kind !== 'v20' || s.state === 'active') return undefined;
  const fail = (status: number) => {
    d.sessions.delete(s.id);
    return reply(PayloadType.Rakp2, (w) =>
      encodeRakp2({ tag: m.tag, status, consoleSessionId: s.consoleSessionId }, w),
    );
  };
  const role = m.role & 0x0f;
  if (role < Priv.Callback || role > Priv.Oem || (m.role & 0xe0) !== 0) return fail(RakpStatus.InvalidRole);
  if (s.requestedMax !== 0 && role > s.requestedMax) return fail(RakpStatus.UnauthorizedRole);
  const user = findUserByName(d.state, m.username);
  if (user === undefined || !user.ipmiMessaging) return fail(RakpStatus.UnauthorizedName);
  // Name-only (bit 4 set) and name+privilege lookups both need the role within the user's and
  // the channel's limits (13.31).
  const limit = Math.min(user.privilege === NO_ACCESS ? 0 : user.privilege, d.state.channelPrivilegeLimit);
  if (role > limit) return fail(RakpStatus.UnauthorizedRole);
  s.tag = m.tag;
  s.role = m.role;
  s.username = Buffer.from(m.username);
  s.consoleRandom = Buffer.from(m.consoleRandom);
  s.bmcRandom = d.rng.bytes(16);
  s.userId = user.id;
  s.maxPrivilege = role;
  s.state = 'rakp2';
  d.sessions.touch(s);
  const c = ctxOf(s);
  const authCode =
    c === undefined
      ? Buffer.alloc(0)
      : rakp2AuthCode(keyFromPassword(Buffer.from(user.password, 'latin1')), {
          ...c,
          bmcGuid: d.state.systemGuid,
        });
  return reply(PayloadType.Rakp2, (w) =>
    encodeRakp2(
      {
        tag: m.tag,
        status: RakpStatus.Ok,
        consoleSessionId: s.consoleSessionId,
        bmcRandom: s.bmcRandom,
        bmcGuid: d.state.systemGuid,
        authCode,
      },
      w,
    ),
  );
}

/** RAKP Message 3 → 4 (tables 13-13, 13-14): checks the console knows the password, derives keys. */
export function rakp3(d: HandshakeDeps, payload: Buffer): HandshakeReply | undefined {
  const m = decodeRakp3(new Reader(payload));
  const s = d.sessions.get(m.bmcSessionId);
  if (s === undefined || s.kind !== 'v20') return undefined;
  const answer = (status: number, icv: Buffer) =>
    reply(PayloadType.Rakp4, (w) =>
      encodeRakp4({ tag: m.tag, status, consoleSessionId: s.consoleSessionId, integrityCheck: icv }, w),
    );
  // A retransmitted RAKP 3 after a lost RAKP 4: answer again with the same message.
  if (s.state === 'active' && s.rakp4 !== undefined && s.rakp3AuthCode?.equals(m.authCode)) {
    return { payloadType: PayloadType.Rakp4, payload: s.rakp4 };
  }
  if (s.state === 'active') return undefined;
  if (s.state !== 'rakp2') {
    d.sessions.delete(s.id);
    return answer(RakpStatus.InvalidSessionId, Buffer.alloc(0));
  }
  // The console reports its own failure (e.g. it could not verify RAKP 2): the session ends.
  if (m.status !== RakpStatus.Ok) {
    d.sessions.delete(s.id);
    return undefined;
  }
  const user = d.state.users[s.userId - 1];
  const c = ctxOf(s);
  if (user === undefined) {
    d.sessions.delete(s.id);
    return answer(RakpStatus.UnauthorizedName, Buffer.alloc(0));
  }
  let icv: Buffer = Buffer.alloc(0);
  if (c !== undefined) {
    const kuid = keyFromPassword(Buffer.from(user.password, 'latin1'));
    const expected = rakp3AuthCode(kuid, c);
    if (!expected.equals(m.authCode)) {
      d.sessions.delete(s.id);
      return answer(RakpStatus.InvalidIntegrityCheckValue, Buffer.alloc(0));
    }
    const full: RakpContext = { ...c, bmcGuid: d.state.systemGuid };
    const sik = sessionIntegrityKey(d.state.kg ?? kuid, full);
    s.integrity = integrityCodec(s.suite.integrity, deriveKey(c.hash, sik, 1));
    if (s.suite.confidentiality === ConfAlg.AesCbc128) s.aes = new AesCbc128(deriveKey(c.hash, sik, 2));
    icv = rakp4Icv(sik, full);
  } else if (s.suite.auth !== AuthAlg.None) {
    d.sessions.delete(s.id);
    return answer(RakpStatus.InvalidAuthAlgorithm, Buffer.alloc(0));
  }
  s.state = 'active';
  // Sessions start at User level (or lower if that is the maximum); Set Session Privilege
  // Level raises them up to the maximum negotiated in RAKP 1.
  s.privilege = Math.min(Priv.User, s.maxPrivilege);
  s.rakp3AuthCode = Buffer.from(m.authCode);
  d.sessions.touch(s);
  const r = answer(RakpStatus.Ok, icv);
  s.rakp4 = r.payload;
  return r;
}

/** Whether a suite without integrity / confidentiality still gets them checked on each packet. */
export const needsIntegrity = (suite: CipherSuite): boolean => suite.integrity !== IntegrityAlg.None;
export const needsConfidentiality = (suite: CipherSuite): boolean => suite.confidentiality !== ConfAlg.None;
