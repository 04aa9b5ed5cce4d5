/**
 * Sessions of one BMC: IPMI v1.5 (challenge → active) and RMCP+ (opened → rakp2 → active),
 * with the session limit, inactivity timeout, and the inbound sequence-number window.
 */
import type { Clock, Rng } from '../../../../common/src/index.ts';
import type { CommandContext } from '../commands/types.ts';
import type { AesCbc128 } from '../crypto/aes-cbc.ts';
import type { CipherSuite } from '../crypto/cipher-suites.ts';
import type { RakpHash } from '../crypto/rakp.ts';
import type { IntegrityCodec } from '../wire/session20.ts';

/**
 * Inbound sequence numbers (IPMI v2.0 section 6.12.13 / 6.12.14): accepted up to 15 ahead of the
 * highest seen and up to 16 behind it, each at most once — so a replayed packet is dropped even
 * inside the window. Seq 0 is never valid inside a session. Arithmetic is modulo 2^32.
 */
export class SeqWindow {
  #highest: number;
  #seen = 0; // bit i = highest - i was received
  constructor(initialExpected: number) {
    this.#highest = (initialExpected - 1) >>> 0;
  }
  accept(seq: number): boolean {
    if (seq === 0) return false;
    const diff = (seq - this.#highest) | 0;
    if (diff > 0) {
      if (diff > 15) return false;
      this.#seen = diff >= 32 ? 1 : ((this.#seen << diff) | 1) >>> 0;
      this.#highest = seq >>> 0;
      return true;
    }
    const back = -diff;
    if (back >= 16) return false;
    const bit = 1 << back;
    if ((this.#seen & bit) !== 0) return false;
    this.#seen = (this.#seen | bit) >>> 0;
    return true;
  }
}

interface SessionCommon {
  /** The BMC-side session ID (what the console puts in its packets). */
  readonly id: number;
  userId: number;
  maxPrivilege: number;
  privilege: number;
  lastActivity: number;
  closing: boolean;
  /**
   * What commands in this session see, made by the BMC on first use. Kept here, not in a WeakMap
   * keyed by the session: the young-generation collector keeps WeakMap entries alive, so each
   * session went to old space and waited there for a full collection.
   */
  context: CommandContext | undefined;
}

export interface Session20 extends SessionCommon {
  readonly kind: 'v20';
  state: 'opened' | 'rakp2' | 'active';
  readonly consoleSessionId: number;
  readonly suite: CipherSuite;
  readonly hash: RakpHash | undefined;
  /** Open Session's requested maximum privilege (0 = any). */
  readonly requestedMax: number;
  tag: number;
  role: number;
  username: Buffer;
  consoleRandom: Buffer;
  bmcRandom: Buffer;
  integrity: IntegrityCodec | undefined;
  /** Set when the suite encrypts (AES-CBC-128 keyed with K2). */
  aes: AesCbc128 | undefined;
  rakp4: Buffer | undefined;
  rakp3AuthCode: Buffer | undefined;
  inbound: SeqWindow;
  outSeq: number;
}

export interface Session15 extends SessionCommon {
  readonly kind: 'v15';
  state: 'challenge' | 'active';
  authType: number;
  challenge: Buffer;
  /** Set on activation: the session ID replaces the temporary one. */
  inbound: SeqWindow;
  outSeq: number;
  /** The console's initial outbound seq: BMC responses count up from here. */
  outSeqStart: number;
}

export type Session = Session20 | Session15;

export interface SessionLimits {
  readonly maxSessions: number;
  /** Inactivity timeout of an established session (IPMI: typically 60 s). */
  readonly timeoutMs: number;
  /** A half-open handshake is dropped sooner, so it cannot hold a slot. */
  readonly handshakeTimeoutMs: number;
}

/**
 * Sessions by ID. The sessions sit in an array of slots and a Map gives an ID's slot: a
 * Map<number, Session> kept dead sessions alive through young-generation collections once several
 * sessions were open at a time (measured with 16 concurrent setups: 2.4 KB promoted to old space per
 * setup, against 0.3 KB here), and every one of them waited for a full collection. A Map of slot
 * numbers holds no objects.
 */
class SessionSlots {
  readonly #slot = new Map<number, number>();
  readonly #sessions: (Session | undefined)[] = [];
  readonly #free: number[] = [];

  get size(): number {
    return this.#slot.size;
  }

  get(id: number): Session | undefined {
    const i = this.#slot.get(id);
    return i === undefined ? undefined : this.#sessions[i];
  }

  has(id: number): boolean {
    return this.#slot.has(id);
  }

  set(s: Session): void {
    this.delete(s.id);
    const i = this.#free.pop() ?? this.#sessions.length;
    this.#sessions[i] = s;
    this.#slot.set(s.id, i);
  }

  delete(id: number): boolean {
    const i = this.#slot.get(id);
    if (i === undefined) return false;
    this.#slot.delete(id);
    this.#sessions[i] = undefined;
    this.#free.push(i);
    return true;
  }

  clear(): void {
    this.#slot.clear();
    this.#sessions.length = 0;
    this.#free.length = 0;
  }

  /** The sessions now held, as a copy: callers may delete while they walk it. */
  list(): Session[] {
    const out: Session[] = [];
    for (const s of this.#sessions) if (s !== undefined) out.push(s);
    return out;
  }
}

export class SessionTable {
  readonly #sessions = new SessionSlots();
  constructor(
    private readonly limits: SessionLimits,
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  activeCount(): number {
    let n = 0;
    for (const s of this.#sessions.list()) if (s.state === 'active') n++;
    return n;
  }

  /** A fresh, non-zero session ID not in use. */
  newId(): number {
    for (;;) {
      const id = this.rng.bytes(4).readUInt32LE(0);
      if (id !== 0 && !this.#sessions.has(id)) return id;
    }
  }

  /** Room for one more session? Expired ones are swept first. */
  hasRoom(): boolean {
    if (this.#sessions.size < this.limits.maxSessions) return true;
    this.sweep();
    return this.#sessions.size < this.limits.maxSessions;
  }

  add(s: Session): void {
    this.#sessions.set(s);
  }

  /** The live session with this ID at `now`; an expired one is removed and not returned. */
  get(id: number, now = this.clock.now()): Session | undefined {
    const s = this.#sessions.get(id);
    if (s === undefined) return undefined;
    if (this.#expired(s, now)) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  touch(s: Session, now = this.clock.now()): void {
    s.lastActivity = now;
  }

  delete(id: number): boolean {
    return this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }

  sweep(): void {
    const now = this.clock.now();
    for (const s of this.#sessions.list()) if (this.#expired(s, now)) this.#sessions.delete(s.id);
  }

  #expired(s: Session, now: number): boolean {
    const limit = s.state === 'active' ? this.limits.timeoutMs : this.limits.handshakeTimeoutMs;
    return now - s.lastActivity > limit;
  }
}
