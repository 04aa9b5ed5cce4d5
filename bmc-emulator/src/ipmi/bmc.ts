/**
 * One virtual BMC, without sockets: a datagram in, at most one datagram out. It routes RMCP
 * (ASF ping, IPMI v1.5 sessions, RMCP+ sessions) to the session layer and the command table.
 *
 * Nothing a peer sends can hurt other sessions or the process: every decode error, bad auth code,
 * out-of-window sequence number or unknown session drops only that packet (section 6.12.x: the
 * BMC silently discards packets that fail authentication), and handler failures become FFh.
 */
import {
  type Clock,
  createLogger,
  cryptoRng,
  DecodeError,
  type Logger,
  type Rng,
  systemClock,
} from '../../../common/src/index.ts';
import type { Machine } from '../../../vm-fleet/src/index.ts';
import { appCommands } from './commands/app.ts';
import { expireBootFlags } from './commands/boot-flags.ts';
import { chassisCommands } from './commands/chassis.ts';
import { dcmiCommands } from './commands/dcmi.ts';
import { payloadCommands, registerSol } from './commands/payload.ts';
import { CommandRegistry, type DispatchResult } from './commands/registry.ts';
import { sensorCommands } from './commands/sensor.ts';
import { storageCommands } from './commands/storage.ts';
import { transportCommands } from './commands/transport.ts';
import { type BmcServices, type CommandContext, NetFn, type SessionView } from './commands/types.ts';
import { authCode15 } from './crypto/auth15.ts';
import { attachEventLog, logBmcReset, withSelEvents } from './model/hw.ts';
import { adoptLanAddress } from './model/state.ts';
import { activateSession, getSessionChallenge, verifyAuth15 } from './session/activate15.ts';
import { type HandshakeReply, openSession, rakp1, rakp3 } from './session/handshake.ts';
import { type Session, type Session15, type Session20, SessionTable } from './session/session-table.ts';
import { SolService } from './session/sol.ts';
import type { BmcState } from './state.ts';
import {
  decodeRequest,
  encodedLengthResponse,
  encodeResponse,
  type IpmiRequest,
  responseTo,
} from './wire/message.ts';
import { Reader } from './wire/reader.ts';
import {
  AsfType,
  decodeAsf,
  decodeRmcpHeader,
  encodeAsf,
  encodedLengthRmcpHeader,
  encodeRmcpHeader,
  pongData,
  RmcpClass,
} from './wire/rmcp.ts';
import { AuthType, decodeSession15, encodeSession15 } from './wire/session15.ts';
import {
  decodeSession20,
  encodedLengthSession20,
  encodeSession20,
  PayloadType,
  verifySession20,
} from './wire/session20.ts';
import { Writer } from './wire/writer.ts';

/** The LAN channel every virtual BMC serves (channel 1, as on most servers). */
export const LAN_CHANNEL = 1;

export interface BmcOptions {
  readonly state: BmcState;
  readonly machine: Machine;
  readonly clock?: Clock;
  readonly rng?: Rng;
  readonly log?: Logger;
  /** Sessions (pending and active) one BMC holds at once. */
  readonly maxSessions?: number;
  readonly sessionTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** How long the BMC is gone after a Cold / Warm Reset. */
  readonly coldResetMs?: number;
  readonly warmResetMs?: number;
  readonly registry?: CommandRegistry;
}

/** Chassis rows that also log to the SEL; wrapped once, shared by every BMC's registry. */
const chassisWithSel = withSelEvents(chassisCommands);

const defaultRegistry = (): CommandRegistry =>
  new CommandRegistry([
    ...appCommands,
    ...chassisWithSel,
    ...sensorCommands,
    ...storageCommands,
    ...transportCommands,
    ...dcmiCommands,
    ...payloadCommands,
  ]);

/** What a datagram gets: a reply, nothing, or — when a command waits on the machine — a promise of either. */
export type Reply = Buffer | undefined | Promise<Buffer | undefined>;

/** Where a datagram came from / goes to; SOL output is sent unprompted to its console. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

/** The socket side a BMC may push through (Serial-over-LAN output), set by its endpoint. */
export interface BmcTransport {
  readonly address: string;
  readonly port: number;
  send(packet: Buffer, to: Peer): void;
}

/**
 * What a command sees of its session. A class, not an object literal with a getter: V8 gives each
 * such literal a hidden class of its own, kept in old space, and through the getter's closure that
 * class kept its whole session (keys, buffers, context) alive past every young-generation collection
 * until the next full one.
 */
class LiveSessionView implements SessionView {
  readonly #s: Session;
  readonly id: number;
  readonly userId: number;
  readonly maxPrivilege: number;
  readonly authType: number;
  constructor(s: Session) {
    this.#s = s;
    this.id = s.id;
    this.userId = s.userId;
    this.maxPrivilege = s.maxPrivilege;
    this.authType = s.kind === 'v15' ? s.authType : AuthType.RmcpPlus;
  }
  get privilege(): number {
    return this.#s.privilege;
  }
  setPrivilege(p: number): void {
    this.#s.privilege = p;
  }
  close(): void {
    this.#s.closing = true;
  }
}

const CMD_GET_SESSION_CHALLENGE = 0x39;
const CMD_ACTIVATE_SESSION = 0x3a;

export class Bmc {
  readonly state: BmcState;
  readonly machine: Machine;
  readonly registry: CommandRegistry;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #log: Logger;
  readonly #sessions: SessionTable;
  readonly #services: BmcServices;
  readonly #resetMs: { cold: number; warm: number };
  #resetUntil = Number.NEGATIVE_INFINITY;
  /** When the datagram being handled came in: one clock reading serves its whole (synchronous) route. */
  #arrival = 0;
  #pendingReset: 'cold' | 'warm' | undefined;
  /** Packets dropped as malformed or unauthenticated: a health figure for tests and the lab. */
  dropped = 0;
  readonly #sol: SolService;
  #transport: BmcTransport | undefined;
  #solPeer: Peer | undefined;
  readonly #sessionless15: CommandContext;
  readonly #sessionless20: CommandContext;

  constructor(o: BmcOptions) {
    this.state = o.state;
    this.machine = o.machine;
    this.#clock = o.clock ?? systemClock;
    this.#rng = o.rng ?? cryptoRng;
    this.#log = o.log ?? createLogger('bmc');
    this.registry = o.registry ?? defaultRegistry();
    const timeoutMs = o.sessionTimeoutMs ?? 60_000;
    this.#sessions = new SessionTable(
      {
        maxSessions: o.maxSessions ?? 32,
        timeoutMs,
        handshakeTimeoutMs: Math.min(o.handshakeTimeoutMs ?? 10_000, timeoutMs),
      },
      this.#clock,
      this.#rng,
    );
    this.#resetMs = { cold: o.coldResetMs ?? 3_000, warm: o.warmResetMs ?? 1_000 };
    // The SEL records what happens to the machine, whoever caused it (model/hw.ts).
    attachEventLog({ state: this.state, machine: this.machine, clock: this.#clock });
    this.#sol = new SolService({
      state: this.state,
      machine: this.machine,
      log: this.#log,
      send: (id, payload) => this.#pushSol(id, payload),
    });
    // Activate Payload answers the UDP port SOL runs on: the one this BMC listens on (24.1).
    registerSol(this.state, this.#sol, () => this.#transport?.port ?? 623);
    this.#services = {
      reset: (kind) => {
        this.#pendingReset = kind;
      },
      activeSessions: () => this.#sessions.activeCount(),
      maxSessions: () => o.maxSessions ?? 32,
      closeSession: (id) => this.#sessions.delete(id),
    };
    this.#sessionless15 = this.#makeContext(undefined, false);
    this.#sessionless20 = this.#makeContext(undefined, true);
  }

  /** Whether the BMC is in a reset window (it answers nothing then). */
  resetting(): boolean {
    return this.#clock.now() < this.#resetUntil;
  }

  /** Makes the BMC unreachable for `ms`, as a reset would, and drops every session. */
  beginReset(ms: number): void {
    this.#resetUntil = this.#clock.now() + ms;
    this.#sessions.clear();
    this.#sol.deactivate();
    logBmcReset({ state: this.state, machine: this.machine, clock: this.#clock });
  }

  /** Called by the endpoint once bound: SOL output goes out through it. */
  attachTransport(t: BmcTransport): void {
    this.#transport = t;
    adoptLanAddress(this.state.hw.lan, t.address);
  }

  sessionCount(): number {
    return this.#sessions.size;
  }

  /** Handles one datagram; resolves to the reply, or undefined when nothing is to be sent. */
  async handle(packet: Buffer, from?: Peer): Promise<Buffer | undefined> {
    return this.receive(packet, from);
  }

  /**
   * Handles one datagram, as `handle` does, but answers synchronously when no command handler
   * waits on the machine (nearly every request): the endpoint's path, which then costs no promise.
   */
  receive(packet: Buffer, from?: Peer): Reply {
    const now = this.#clock.now();
    if (now < this.#resetUntil) return undefined;
    this.#arrival = now;
    let out: Reply;
    try {
      out = this.#route(packet, from);
    } catch (err) {
      return this.#failed(err);
    }
    return out instanceof Promise
      ? out.then(
          (o) => this.#done(o),
          (err) => this.#failed(err),
        )
      : this.#done(out);
  }

  #done(out: Buffer | undefined): Buffer | undefined {
    if (out === undefined) this.dropped++;
    this.#applyPendingReset();
    return out;
  }

  #failed(err: unknown): undefined {
    this.dropped++;
    if (err instanceof DecodeError) this.#log.debug(`dropped: ${err.message}`);
    else
      this.#log.warn(
        `dropped after an internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
    this.#applyPendingReset();
    return undefined;
  }

  /** A Cold / Warm Reset takes the BMC away once its response is on the way. */
  #applyPendingReset(): void {
    if (this.#pendingReset !== undefined) {
      const kind = this.#pendingReset;
      this.#pendingReset = undefined;
      this.beginReset(this.#resetMs[kind]);
    }
  }

  #route(packet: Buffer, from: Peer | undefined): Reply {
    const r = new Reader(packet);
    const rmcp = decodeRmcpHeader(r);
    if (rmcp.ack) return undefined;
    if (rmcp.msgClass === RmcpClass.Asf) return this.#asf(r, rmcp.sequence);
    if (rmcp.msgClass !== RmcpClass.Ipmi) return undefined;
    if (packet[4] === AuthType.RmcpPlus) return this.#v20(packet.subarray(4), r, from);
    return this.#v15(r);
  }

  /** ASF presence ping → pong (ASF 2.0 section 3.2.4.3), echoing the message tag. */
  #asf(r: Reader, sequence: number): Buffer | undefined {
    const m = decodeAsf(r);
    if (m.type !== AsfType.Ping) return undefined;
    const w = new Writer(28);
    encodeRmcpHeader({ sequence, msgClass: RmcpClass.Asf, ack: false }, w);
    encodeAsf({ iana: m.iana, type: AsfType.Pong, tag: m.tag, data: pongData() }, w);
    return w.finish();
  }

  /** The context handlers see: one per session, made on its first command (none per request). */
  #context(session: Session | undefined, rmcpPlus: boolean): CommandContext {
    if (session === undefined) return rmcpPlus ? this.#sessionless20 : this.#sessionless15;
    session.context ??= this.#makeContext(session, rmcpPlus);
    return session.context;
  }

  #makeContext(session: Session | undefined, rmcpPlus: boolean): CommandContext {
    const view = session === undefined ? undefined : new LiveSessionView(session);
    return {
      state: this.state,
      machine: this.machine,
      clock: this.#clock,
      log: this.#log,
      services: this.#services,
      session: view,
      channel: LAN_CHANNEL,
      rmcpPlus,
    };
  }

  #dispatch(
    req: IpmiRequest,
    session: Session | undefined,
    rmcpPlus: boolean,
  ): DispatchResult | Promise<DispatchResult> {
    expireBootFlags(this.state, this.machine, this.#arrival);
    return this.registry.dispatch(req.netFn, req.cmd, req.data, this.#context(session, rmcpPlus), this.#log);
  }

  #encodeMessage(req: IpmiRequest, res: DispatchResult): Buffer {
    const m = responseTo(req, res.cc, res.data);
    const w = new Writer(encodedLengthResponse(m));
    encodeResponse(m, w);
    return w.finish();
  }

  // ---- IPMI v1.5 ----------------------------------------------------------------------------

  #v15(r: Reader): Reply {
    const h = decodeSession15(r);
    const req = decodeRequest(new Reader(h.message));
    const isApp = (req.netFn & 0x3e) === NetFn.App;

    if (h.sessionId === 0) {
      // Outside a session only unauthenticated pre-session commands exist (section 13.14).
      if (h.authType !== AuthType.None) return undefined;
      if (isApp && req.cmd === CMD_GET_SESSION_CHALLENGE) {
        return this.#answer15(req, getSessionChallenge(this.#deps(), req.data));
      }
      const res = this.#dispatch(req, undefined, false);
      return res instanceof Promise ? res.then((d) => this.#answer15(req, d)) : this.#answer15(req, res);
    }

    const s = this.#sessions.get(h.sessionId, this.#arrival);
    if (s === undefined || s.kind !== 'v15') return undefined;
    if (s.state === 'challenge') {
      if (!isApp || req.cmd !== CMD_ACTIVATE_SESSION || !verifyAuth15(this.state, s, h)) return undefined;
      const act = activateSession(this.#deps(), s, req.data);
      const seq = act.session?.outSeqStart ?? 0;
      return this.#wrap15(s.authType, seq, h.sessionId, s, this.#encodeMessage(req, act.reply));
    }
    if (!verifyAuth15(this.state, s, h) || !s.inbound.accept(h.seq)) return undefined;
    this.#sessions.touch(s, this.#arrival);
    const res = this.#dispatch(req, s, false);
    return res instanceof Promise ? res.then((d) => this.#answer15(req, d, s)) : this.#answer15(req, res, s);
  }

  /** The reply to a v1.5 request: outside a session (no `s`), or in session `s`. */
  #answer15(req: IpmiRequest, res: DispatchResult, s?: Session15): Buffer {
    if (s === undefined) return this.#wrap15(AuthType.None, 0, 0, undefined, this.#encodeMessage(req, res));
    const seq = s.outSeq;
    s.outSeq = (s.outSeq + 1) >>> 0;
    const out = this.#wrap15(s.authType, seq, s.id, s, this.#encodeMessage(req, res));
    if (s.closing) this.#sessions.delete(s.id);
    return out;
  }

  #wrap15(
    authType: number,
    seq: number,
    sessionId: number,
    s: Session15 | undefined,
    message: Buffer,
  ): Buffer {
    let authCode: Buffer | undefined;
    if (authType !== AuthType.None && s !== undefined) {
      const user = this.state.users[s.userId - 1];
      authCode = authCode15(authType, Buffer.from(user?.password ?? '', 'latin1'), sessionId, seq, message);
    }
    const w = new Writer(30 + message.length);
    encodeRmcpHeader({ sequence: 0xff, msgClass: RmcpClass.Ipmi, ack: false }, w);
    encodeSession15({ authType, seq, sessionId, authCode, message }, w);
    return w.finish();
  }

  #deps() {
    return { state: this.state, sessions: this.#sessions, rng: this.#rng, clock: this.#clock };
  }

  // ---- IPMI v2.0 / RMCP+ ----------------------------------------------------------------------

  #v20(packet: Buffer, r: Reader, from: Peer | undefined): Reply {
    const h = decodeSession20(r);
    const plain = !h.authenticated && !h.encrypted;
    switch (h.payloadType) {
      case PayloadType.OpenSessionRequest:
        return h.sessionId === 0 && plain
          ? this.#wrapHandshake(openSession(this.#deps(), h.payload))
          : undefined;
      case PayloadType.Rakp1:
        return h.sessionId === 0 && plain ? this.#wrapHandshake(rakp1(this.#deps(), h.payload)) : undefined;
      case PayloadType.Rakp3:
        return h.sessionId === 0 && plain ? this.#wrapHandshake(rakp3(this.#deps(), h.payload)) : undefined;
      case PayloadType.Ipmi:
      case PayloadType.Sol:
        break;
      default:
        return undefined;
    }

    if (h.sessionId === 0) {
      if (!plain || h.payloadType !== PayloadType.Ipmi) return undefined;
      const req = decodeRequest(new Reader(h.payload));
      const res = this.#dispatch(req, undefined, true);
      return res instanceof Promise ? res.then((d) => this.#answer20(req, d)) : this.#answer20(req, res);
    }

    const s = this.#sessions.get(h.sessionId, this.#arrival);
    if (s === undefined || s.kind !== 'v20' || s.state !== 'active') return undefined;
    // Integrity first, so that a forged packet cannot move the sequence window (13.28).
    if (s.integrity !== undefined) {
      if (!h.authenticated || !verifySession20(packet, h, s.integrity)) return undefined;
    } else if (h.authenticated) {
      return undefined;
    }
    if (!s.inbound.accept(h.seq)) return undefined;
    let payload = h.payload;
    if (s.aes !== undefined) {
      if (!h.encrypted) return undefined;
      payload = s.aes.decrypt(payload);
    } else if (h.encrypted) {
      return undefined;
    }
    this.#sessions.touch(s, this.#arrival);
    if (h.payloadType === PayloadType.Sol) {
      if (from !== undefined) this.#solPeer = from;
      const ack = this.#sol.receive(s.id, new Reader(payload));
      if (ack === undefined) return undefined;
      s.outSeq = (s.outSeq + 1) >>> 0 || 1;
      return this.#wrap20(s.consoleSessionId, s.outSeq, ack, s, PayloadType.Sol);
    }
    const req = decodeRequest(new Reader(payload));
    const res = this.#dispatch(req, s, true);
    return res instanceof Promise
      ? res.then((d) => this.#answer20(req, d, s, from))
      : this.#answer20(req, res, s, from);
  }

  /** The reply to an RMCP+ request: outside a session (no `s`), or in session `s` from `from`. */
  #answer20(req: IpmiRequest, res: DispatchResult, s?: Session20, from?: Peer): Buffer {
    if (s === undefined) return this.#wrap20(0, 0, this.#encodeMessage(req, res), undefined);
    if (from !== undefined && this.#sol.sessionId === s.id) this.#solPeer = from;
    s.outSeq = (s.outSeq + 1) >>> 0 || 1;
    const out = this.#wrap20(s.consoleSessionId, s.outSeq, this.#encodeMessage(req, res), s);
    if (s.closing) {
      this.#sessions.delete(s.id);
      this.#sol.deactivate(s.id);
    }
    return out;
  }

  /** Sends SOL output to the console of session `id`; false when that session is gone. */
  #pushSol(id: number, payload: Buffer): boolean {
    const s = this.#sessions.get(id);
    const to = this.#solPeer;
    if (s === undefined || s.kind !== 'v20' || s.state !== 'active') return false;
    if (this.#transport === undefined || to === undefined || this.resetting()) return false;
    s.outSeq = (s.outSeq + 1) >>> 0 || 1;
    this.#transport.send(this.#wrap20(s.consoleSessionId, s.outSeq, payload, s, PayloadType.Sol), to);
    return true;
  }

  #wrapHandshake(rep: HandshakeReply | undefined): Buffer | undefined {
    if (rep === undefined) return undefined;
    const w = new Writer(16 + rep.payload.length);
    encodeRmcpHeader({ sequence: 0xff, msgClass: RmcpClass.Ipmi, ack: false }, w);
    encodeSession20(
      {
        payloadType: rep.payloadType,
        encrypted: false,
        authenticated: false,
        sessionId: 0,
        seq: 0,
        payload: rep.payload,
      },
      w,
    );
    return w.finish();
  }

  #wrap20(
    sessionId: number,
    seq: number,
    message: Buffer,
    s: Session20 | undefined,
    payloadType: number = PayloadType.Ipmi,
  ): Buffer {
    const aes = s?.aes;
    const encrypted = aes !== undefined;
    const payload = aes === undefined ? message : aes.encrypt(this.#rng, message);
    const header = {
      payloadType,
      encrypted,
      authenticated: s?.integrity !== undefined,
      sessionId,
      seq,
      payload,
    };
    const w = new Writer(encodedLengthRmcpHeader() + encodedLengthSession20(header, s?.integrity));
    encodeRmcpHeader({ sequence: 0xff, msgClass: RmcpClass.Ipmi, ack: false }, w);
    encodeSession20(header, w, s?.integrity);
    return w.finish();
  }
}
