// A lean RMCP+ client for load generation: one connected UDP socket per client, one exchange in
// flight (as ipmitool and Ironic's pyghmi do), cipher suite 3 only. Frames and keys come from
// bench/src/loadgen; this file only moves them over the network and checks that every reply is the
// answer to what was asked (tag, session IDs, rqSeq, auth codes), so a wrong reply is never counted
// as a success.

import { randomFillSync } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { DecodeError } from '../../common/src/index.ts';
import {
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decryptPayload,
  deriveKeys,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encryptPayload,
  integrity,
  type RakpExchange,
  ROLE_ADMIN_NAME_ONLY,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  type SessionKeys,
} from '../src/loadgen/rakp.ts';
import {
  Cmd,
  decodeResponse,
  decodeSession15,
  decodeSession20,
  encodeAuthCapsRequest,
  encodeRequest,
  encodeSession20,
  type IpmiResponse,
  NetFn,
  PayloadType,
} from '../src/loadgen/wire.ts';

export interface Target {
  host: string;
  port: number;
}

export interface Credentials {
  user: string;
  password: string;
}

/** Thrown when no matching reply came in time; the exchange is abandoned, the socket stays usable. */
export class TimeoutError extends Error {
  readonly code = 'ERR_IPMI_TIMEOUT';
}

/** A BMC said no: an RMCP+ status code (13.24) or a completion code. */
export class RefusedError extends Error {
  readonly code = 'ERR_IPMI_REFUSED';
}

// Random bytes for Rm, session IDs and IVs, drawn from one pooled buffer: a getrandom() call per
// request would cost more than the AES it feeds.
const pool = Buffer.allocUnsafe(64 * 1024);
let poolAt = pool.length;
function random(n: number): Buffer {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + n));
  poolAt += n;
  return out;
}

interface Pending {
  accept: (frame: Buffer) => boolean;
  reject: (err: Error) => void;
  what: string;
  deadline: number;
}

// One timer for every open endpoint instead of a setTimeout per request.
const live = new Set<Endpoint>();
let sweeper: NodeJS.Timeout | undefined;
function sweep(): void {
  const now = performance.now();
  for (const ep of live) ep.expire(now);
}

/** A UDP socket connected to one BMC port. */
export class Endpoint {
  private pending: Pending | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (frame) => {
      const p = this.pending;
      if (p === undefined) return;
      try {
        if (p.accept(frame)) this.pending = undefined;
      } catch (err) {
        this.pending = undefined;
        p.reject(err as Error);
      }
    });
    live.add(this);
    if (sweeper === undefined) sweeper = setInterval(sweep, 20);
  }

  /** Binds `localPort` (0: any) on 127.0.0.1 and connects to the target. */
  static open(target: Target, localPort = 0): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind(localPort, '127.0.0.1', () => {
        socket.connect(target.port, target.host, () => {
          socket.removeAllListeners('error');
          socket.on('error', () => {});
          resolve(new Endpoint(socket));
        });
      });
    });
  }

  /**
   * Sends a frame and resolves with the first reply `parse` accepts; `parse` returns undefined for a
   * stray datagram (a late reply to an abandoned exchange) and throws for a wrong answer.
   */
  exchange<T>(
    frame: Buffer,
    parse: (reply: Buffer) => T | undefined,
    timeoutMs: number,
    what = 'reply',
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending = {
        accept: (reply) => {
          const v = parse(reply);
          if (v === undefined) return false;
          resolve(v);
          return true;
        },
        reject,
        what,
        deadline: performance.now() + timeoutMs,
      };
      this.socket.send(frame);
    });
  }

  expire(now: number): void {
    const p = this.pending;
    if (p !== undefined && now > p.deadline) {
      this.pending = undefined;
      p.reject(new TimeoutError(`no ${p.what} in time`));
    }
  }

  close(): void {
    live.delete(this);
    if (live.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new Error('endpoint closed'));
    this.socket.close();
  }
}

/** Sessionless Get Channel Authentication Capabilities: the BMC is up and speaks IPMI 2.0. */
export async function pingAuthCaps(ep: Endpoint, timeoutMs = 500): Promise<IpmiResponse> {
  return ep.exchange(
    encodeAuthCapsRequest(1),
    (reply) => {
      const rsp = decodeResponse(decodeSession15(reply));
      return rsp.cmd === Cmd.GetChannelAuthCapabilities ? rsp : undefined;
    },
    timeoutMs,
  );
}

export interface SessionOptions {
  timeoutMs?: number;
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

/** An RMCP+ session: Open Session, RAKP 1-4, then authenticated and encrypted IPMI requests. */
export class RmcpPlusSession {
  private seq = 0;
  private rqSeq = 0;

  private constructor(
    private readonly ep: Endpoint,
    readonly consoleSid: number,
    readonly managedSid: number,
    private readonly keys: SessionKeys,
    private readonly timeoutMs: number,
  ) {}

  static async open(ep: Endpoint, creds: Credentials, opts: SessionOptions = {}): Promise<RmcpPlusSession> {
    const timeoutMs = opts.timeoutMs ?? 1000;
    const kuid = Buffer.from(creds.password);
    const user = Buffer.from(creds.user);
    const consoleSid = (random(4).readUInt32LE(0) | 1) >>> 0;
    const tag = consoleSid & 0x3f;
    const unauthenticated = (payloadType: number, payload: Buffer) =>
      encodeSession20({ payloadType, sessionId: 0, seq: 0, payload });

    const open = await ep.exchange(
      unauthenticated(PayloadType.OpenSessionRequest, encodeOpenSessionRequest(tag, consoleSid)),
      (reply) => {
        const f = decodeSession20(reply);
        if (f.payloadType !== PayloadType.OpenSessionResponse) return undefined;
        const r = decodeOpenSessionResponse(f.payload);
        return r.tag === tag && r.consoleSid === consoleSid ? r : undefined;
      },
      timeoutMs,
      'Open Session Response',
    );
    if (open.status !== 0) throw new RefusedError(`Open Session: RMCP+ status ${open.status}`);

    const x: RakpExchange = {
      consoleSid,
      managedSid: open.managedSid,
      rm: random(16),
      rc: Buffer.alloc(0),
      guid: Buffer.alloc(0),
      role: ROLE_ADMIN_NAME_ONLY,
      user,
    };
    const rakp2 = await ep.exchange(
      unauthenticated(PayloadType.Rakp1, encodeRakp1(tag, x.managedSid, x.rm, x.role, user)),
      (reply) => {
        const f = decodeSession20(reply);
        if (f.payloadType !== PayloadType.Rakp2) return undefined;
        const r = decodeRakp2(f.payload);
        return r.tag === tag && r.consoleSid === consoleSid ? r : undefined;
      },
      timeoutMs,
      'RAKP 2',
    );
    if (rakp2.status !== 0) throw new RefusedError(`RAKP 2: RMCP+ status ${rakp2.status}`);
    x.rc = rakp2.rc;
    x.guid = rakp2.guid;
    if (!same(rakp2AuthCode(kuid, x), rakp2.authCode)) {
      throw new DecodeError('ERR_IPMI_AUTHCODE', 'RAKP 2: the BMC does not know this password');
    }

    const keys = deriveKeys(kuid, x);
    const rakp4 = await ep.exchange(
      unauthenticated(PayloadType.Rakp3, encodeRakp3(tag, 0, x.managedSid, rakp3AuthCode(kuid, x))),
      (reply) => {
        const f = decodeSession20(reply);
        if (f.payloadType !== PayloadType.Rakp4) return undefined;
        const r = decodeRakp4(f.payload);
        return r.tag === tag && r.consoleSid === consoleSid ? r : undefined;
      },
      timeoutMs,
      'RAKP 4',
    );
    if (rakp4.status !== 0) throw new RefusedError(`RAKP 4: RMCP+ status ${rakp4.status}`);
    if (!same(rakp4Icv(keys.sik, x), rakp4.icv)) {
      throw new DecodeError('ERR_IPMI_AUTHCODE', 'RAKP 4: integrity check value does not match');
    }
    return new RmcpPlusSession(ep, consoleSid, x.managedSid, keys, timeoutMs);
  }

  /** One request in the session; resolves with the decoded response (any completion code). */
  call(netFn: number, cmd: number, data?: Buffer): Promise<IpmiResponse> {
    this.seq = (this.seq + 1) >>> 0 || 1;
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    const rqSeq = this.rqSeq;
    const { k1, aesKey } = this.keys;
    const frame = encodeSession20(
      {
        payloadType: PayloadType.Ipmi,
        encrypted: true,
        sessionId: this.managedSid,
        seq: this.seq,
        payload: encryptPayload(aesKey, random(16), encodeRequest({ netFn, cmd, rqSeq, data })),
      },
      (signed) => integrity(k1, signed),
    );
    return this.ep.exchange(
      frame,
      (reply) => {
        const f = decodeSession20(reply);
        if (f.payloadType !== PayloadType.Ipmi || f.sessionId !== this.consoleSid) return undefined;
        if (!f.authenticated || !f.encrypted || !same(integrity(k1, f.signed), f.authCode)) {
          throw new DecodeError('ERR_IPMI_AUTHCODE', 'session reply without a valid AuthCode');
        }
        const rsp = decodeResponse(decryptPayload(aesKey, f.payload));
        return rsp.rqSeq === rqSeq && rsp.cmd === cmd ? rsp : undefined;
      },
      this.timeoutMs,
      `response to netFn ${netFn} cmd 0x${cmd.toString(16)}`,
    );
  }

  async getChassisStatus(): Promise<{ powerOn: boolean }> {
    const rsp = await this.call(NetFn.Chassis, Cmd.GetChassisStatus);
    if (rsp.cc !== 0) throw new RefusedError(`Get Chassis Status: completion code 0x${rsp.cc.toString(16)}`);
    if (rsp.data.length < 3) throw new DecodeError('ERR_IPMI_SHORT', 'Get Chassis Status: short answer');
    return { powerOn: (rsp.data.readUInt8(0) & 0x01) !== 0 };
  }

  /** Close Session (22.19) frees the BMC's slot; the data is the BMC's own session ID. */
  async close(): Promise<void> {
    const id = Buffer.allocUnsafe(4);
    id.writeUInt32LE(this.managedSid >>> 0, 0);
    const rsp = await this.call(NetFn.App, Cmd.CloseSession, id);
    if (rsp.cc !== 0) throw new RefusedError(`Close Session: completion code 0x${rsp.cc.toString(16)}`);
  }
}
