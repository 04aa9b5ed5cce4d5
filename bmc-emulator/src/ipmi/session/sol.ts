/**
 * Serial-over-LAN (IPMI v2.0 chapters 15 and 24): one SOL payload instance per BMC, bridged to
 * the machine's serial console.
 *
 *   SOL payload (table 15-2): packet seq (3:0, 0 = ack-only) | ack/nack seq (3:0, 0 = none)
 *     | accepted character count | operation/status | character data
 *
 * Console → BMC: each data packet is acknowledged at once with the characters accepted; a
 * retransmission of the last packet is acknowledged again but not typed twice (15.9). BMC →
 * console: output accumulates for the character-accumulate interval or until the send threshold
 * (SOL parameter 3), then goes out as one packet that is retried at the retry interval, up to the
 * retry count (parameter 4), until acknowledged; a partial accept resends the rest. The session
 * survives machine power cycles: the console stays attached to the serial port.
 */
import { createLogger, DecodeError, type Logger } from '../../../../common/src/index.ts';
import type { Machine } from '../../../../vm-fleet/src/index.ts';
import type { BmcState } from '../state.ts';
import type { Reader } from '../wire/reader.ts';

/** Status bits, BMC → console (table 15-2 byte 4). */
export const SolStatus = { Nack: 0x40, CharUnavailable: 0x20, Deactivating: 0x10 } as const;
/** Operation bits, console → BMC. */
export const SolOp = { Nack: 0x40, Break: 0x10, FlushIn: 0x02, FlushOut: 0x01 } as const;

export interface SolPacket {
  readonly seq: number;
  readonly ack: number;
  readonly accepted: number;
  readonly status: number;
  readonly data: Buffer;
}

export function decodeSol(r: Reader): SolPacket {
  const seq = r.u8('sol seq') & 0x0f;
  const ack = r.u8('sol ack') & 0x0f;
  const accepted = r.u8('sol accepted');
  const status = r.u8('sol status');
  return { seq, ack, accepted, status, data: Buffer.from(r.rest()) };
}

export function encodeSol(p: SolPacket): Buffer {
  return Buffer.concat([Buffer.from([p.seq & 0x0f, p.ack & 0x0f, p.accepted, p.status]), p.data]);
}

/** Largest character block one SOL packet carries (Activate Payload reports it). */
export const SOL_MAX_DATA = 255;

/** Completion codes of Activate Payload (table 24-2). */
export const PayloadCc = { AlreadyActive: 0x80, Disabled: 0x81, LimitReached: 0x82 } as const;

export interface SolDeps {
  readonly state: BmcState;
  readonly machine: Machine;
  /** Sends one SOL payload inside session `sessionId`; false when that session is gone. */
  send(sessionId: number, payload: Buffer): boolean;
  readonly log?: Logger;
}

interface Active {
  readonly sessionId: number;
  readonly unsubscribe: () => void;
  /** Output not yet sent. */
  pending: Buffer;
  /** The packet awaiting an ack, with its retries left. */
  inflight: { seq: number; data: Buffer; retriesLeft: number } | undefined;
  nextSeq: number;
  /** The console's last data packet, to recognise a retransmission. */
  lastInbound: { seq: number; accepted: number } | undefined;
  accumulateTimer: NodeJS.Timeout | undefined;
  retryTimer: NodeJS.Timeout | undefined;
}

/** The SOL payload instance of one BMC. */
export class SolService {
  readonly #deps: SolDeps;
  readonly #log: Logger;
  #active: Active | undefined;

  constructor(deps: SolDeps) {
    this.#deps = deps;
    this.#log = deps.log ?? createLogger('bmc:sol');
  }

  /** The session holding the payload, if any (Get Payload Activation Status). */
  get sessionId(): number | undefined {
    return this.#active?.sessionId;
  }

  /** Activate Payload: refuses a second activation (80h) and a disabled payload (81h). */
  activate(sessionId: number): number {
    if (this.#active !== undefined) return PayloadCc.AlreadyActive;
    if (!this.#deps.state.hw.sol.enabled) return PayloadCc.Disabled;
    const serial = this.#deps.machine.serial;
    if (serial === undefined) return PayloadCc.Disabled;
    const a: Active = {
      sessionId,
      unsubscribe: () => {},
      pending: Buffer.alloc(0),
      inflight: undefined,
      nextSeq: 1,
      lastInbound: undefined,
      accumulateTimer: undefined,
      retryTimer: undefined,
    };
    (a as { unsubscribe: () => void }).unsubscribe = serial.onText((text) => this.#output(a, text));
    this.#active = a;
    return 0;
  }

  /** Deactivate Payload, or the owning session ended. */
  deactivate(sessionId?: number): boolean {
    const a = this.#active;
    if (a === undefined || (sessionId !== undefined && a.sessionId !== sessionId)) return false;
    a.unsubscribe();
    clearTimeout(a.accumulateTimer);
    clearTimeout(a.retryTimer);
    this.#active = undefined;
    return true;
  }

  /** One SOL payload from the console; returns the immediate answer (an ack), if any. */
  receive(sessionId: number, r: Reader): Buffer | undefined {
    const a = this.#active;
    if (a === undefined || a.sessionId !== sessionId) return undefined;
    let p: SolPacket;
    try {
      p = decodeSol(r);
    } catch (err) {
      if (err instanceof DecodeError) return undefined;
      throw err;
    }
    if (p.ack !== 0 && a.inflight !== undefined && p.ack === a.inflight.seq) this.#acked(a, p);
    if (p.seq === 0) return undefined;
    let accepted = p.data.length;
    if (a.lastInbound?.seq === p.seq) {
      // A retransmission: our ack was lost. Acknowledge again without typing twice.
      accepted = a.lastInbound.accepted;
    } else {
      if ((p.status & SolOp.FlushOut) !== 0) a.pending = Buffer.alloc(0);
      if (p.data.length > 0) this.#deps.machine.serial?.write(p.data);
      a.lastInbound = { seq: p.seq, accepted };
    }
    return encodeSol({ seq: 0, ack: p.seq, accepted, status: 0, data: Buffer.alloc(0) });
  }

  #output(a: Active, text: string): void {
    if (this.#active !== a) return;
    a.pending = Buffer.concat([a.pending, Buffer.from(text, 'latin1')]);
    const cfg = this.#deps.state.hw.sol;
    if (a.inflight !== undefined) return;
    if (a.pending.length >= cfg.sendThreshold) {
      this.#flush(a);
      return;
    }
    a.accumulateTimer ??= setTimeout(() => {
      a.accumulateTimer = undefined;
      this.#flush(a);
    }, cfg.accumulateInterval * 5);
  }

  #flush(a: Active): void {
    clearTimeout(a.accumulateTimer);
    a.accumulateTimer = undefined;
    if (this.#active !== a || a.inflight !== undefined || a.pending.length === 0) return;
    const data = a.pending.subarray(0, SOL_MAX_DATA);
    const seq = a.nextSeq;
    a.nextSeq = (a.nextSeq % 15) + 1;
    a.inflight = { seq, data, retriesLeft: this.#deps.state.hw.sol.retryCount };
    this.#transmit(a);
  }

  #transmit(a: Active): void {
    const f = a.inflight;
    if (f === undefined) return;
    const ok = this.#deps.send(
      a.sessionId,
      encodeSol({ seq: f.seq, ack: 0, accepted: 0, status: 0, data: f.data }),
    );
    if (!ok) {
      this.#log.debug(`SOL session ${a.sessionId.toString(16)} is gone: payload deactivated`);
      this.deactivate();
      return;
    }
    clearTimeout(a.retryTimer);
    a.retryTimer = setTimeout(
      () => {
        a.retryTimer = undefined;
        if (a.inflight !== f) return;
        if (f.retriesLeft <= 0) {
          // Given up (15.9): the characters are dropped and the stream goes on.
          a.pending = a.pending.subarray(f.data.length);
          a.inflight = undefined;
          this.#flush(a);
          return;
        }
        f.retriesLeft--;
        this.#transmit(a);
      },
      Math.max(10, this.#deps.state.hw.sol.retryInterval * 10),
    );
  }

  #acked(a: Active, p: SolPacket): void {
    const f = a.inflight;
    if (f === undefined) return;
    clearTimeout(a.retryTimer);
    a.retryTimer = undefined;
    a.inflight = undefined;
    // A NACK accepts nothing; otherwise the accepted count says how much of the packet got through.
    const accepted = (p.status & SolOp.Nack) !== 0 ? 0 : Math.min(p.accepted, f.data.length);
    a.pending = a.pending.subarray(accepted);
    if (a.pending.length > 0) setImmediate(() => this.#flush(a));
  }
}
