/**
 * Read-only TFTP server (RFC 1350) with option negotiation (RFC 2347) for blksize (RFC 2348),
 * timeout and tsize (RFC 2349). Serves a directory — Ironic's `[pxe]tftp_root`, or iPXE builds
 * for PXE ROMs to chainload. Each transfer gets its own socket (RFC 1350 sec. 4: a fresh TID),
 * lock-step DATA/ACK with retransmission on timeout, and ignores duplicate ACKs (so a delayed ACK
 * does not double the traffic: the "Sorcerer's Apprentice" bug, RFC 1123 sec. 4.2.3.1).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { type FileHandle, open } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../common/src/index.ts';
import { resolveUnder } from '../paths.ts';
import {
  BLKSIZE_MAX,
  BLKSIZE_MIN,
  decodeTftp,
  encodeTftp,
  nextBlock,
  TftpErrorCode,
  type TftpOptions,
  type TftpPacket,
  TIMEOUT_MAX_S,
  TIMEOUT_MIN_S,
} from './packet.ts';

const log = createLogger('network-boot:tftp');

export interface TftpServerOptions {
  /** Directory served; requests cannot leave it. */
  readonly root: string;
  /** Retransmission timeout unless the client negotiates one (RFC 2349). */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** Largest blksize granted (a client may ask up to 65464; 1468 fits an Ethernet frame). */
  readonly maxBlksize?: number;
  readonly onEvent?: (event: TftpEvent) => void;
}

export type TftpEvent =
  | {
      readonly type: 'request';
      readonly file: string;
      readonly remote: string;
      readonly options: TftpOptions;
    }
  | {
      readonly type: 'complete';
      readonly file: string;
      readonly remote: string;
      readonly bytes: number;
      readonly ms: number;
    }
  | { readonly type: 'failed'; readonly file: string; readonly remote: string; readonly reason: string };

export class TftpServer {
  readonly #opts: TftpServerOptions;
  readonly #sock: Socket = createSocket('udp4');
  readonly #transfers = new Set<Transfer>();
  #host = '0.0.0.0';

  constructor(opts: TftpServerOptions) {
    this.#opts = opts;
    this.#sock.on('message', (msg, rinfo) => void this.#onRequest(msg, rinfo));
    this.#sock.on('error', (e) => log.warn('socket error: %s', e.message));
  }

  listen(port = 69, host = '0.0.0.0'): Promise<AddressInfo> {
    this.#host = host;
    return new Promise((resolve, reject) => {
      this.#sock.once('error', reject);
      this.#sock.bind(port, host, () => {
        this.#sock.off('error', reject);
        resolve(this.#sock.address());
      });
    });
  }

  async close(): Promise<void> {
    for (const t of this.#transfers) t.abort();
    await new Promise<void>((r) => this.#sock.close(() => r()));
  }

  async #onRequest(msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    let req: TftpPacket;
    try {
      req = decodeTftp(msg);
    } catch (e) {
      log.debug('undecodable request from %s: %s', rinfo.address, (e as Error).message);
      return;
    }
    const remote = `${rinfo.address}:${rinfo.port}`;
    if (req.op !== 'rrq') {
      const [code, message] =
        req.op === 'wrq'
          ? [TftpErrorCode.accessViolation, 'read-only server']
          : [TftpErrorCode.illegalOperation, `unexpected ${req.op} on the request port`];
      this.#sock.send(encodeTftp({ op: 'error', code, message }), rinfo.port, rinfo.address);
      return;
    }
    this.#emit({ type: 'request', file: req.filename, remote, options: req.options });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, this.#host, () => r()));
    const fail = (code: number, message: string) => {
      sock.send(encodeTftp({ op: 'error', code, message }), rinfo.port, rinfo.address, () => sock.close());
      this.#emit({ type: 'failed', file: req.filename, remote, reason: message });
    };
    if (req.mode !== 'octet' && req.mode !== 'netascii')
      return fail(TftpErrorCode.illegalOperation, `mode ${req.mode}`);
    const path = resolveUnder(this.#opts.root, req.filename);
    if (path === undefined) return fail(TftpErrorCode.accessViolation, 'outside the TFTP root');
    let fh: FileHandle;
    let size: number;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return fail(TftpErrorCode.fileNotFound, 'not a file');
      }
      size = st.size;
    } catch {
      return fail(TftpErrorCode.fileNotFound, 'file not found');
    }
    const t = new Transfer(sock, rinfo, fh, size, req, this.#opts, (outcome) => {
      this.#transfers.delete(t);
      this.#emit(
        outcome.ok
          ? { type: 'complete', file: req.filename, remote, bytes: outcome.bytes, ms: outcome.ms }
          : { type: 'failed', file: req.filename, remote, reason: outcome.reason },
      );
    });
    this.#transfers.add(t);
    t.start();
  }

  #emit(e: TftpEvent): void {
    try {
      this.#opts.onEvent?.(e);
    } catch (err) {
      log.warn('event listener threw: %s', (err as Error).message);
    }
  }
}

type Outcome = { ok: true; bytes: number; ms: number } | { ok: false; reason: string };

/** Negotiated values; options the server does not know are left out of the OACK (RFC 2347). */
export function negotiate(
  options: TftpOptions,
  size: number,
  limits: { maxBlksize: number },
): { blksize: number; timeoutMs: number | undefined; oack: [string, string][] } {
  let blksize = 512;
  let timeoutMs: number | undefined;
  const oack: [string, string][] = [];
  for (const [name, value] of options) {
    const n = Number(value);
    if (name === 'blksize' && Number.isInteger(n) && n >= BLKSIZE_MIN) {
      blksize = Math.min(n, BLKSIZE_MAX, limits.maxBlksize);
      oack.push(['blksize', String(blksize)]);
    } else if (name === 'tsize' && Number.isInteger(n) && n >= 0) {
      oack.push(['tsize', String(size)]);
    } else if (name === 'timeout' && Number.isInteger(n) && n >= TIMEOUT_MIN_S && n <= TIMEOUT_MAX_S) {
      timeoutMs = n * 1000;
      oack.push(['timeout', String(n)]);
    }
  }
  return { blksize, timeoutMs, oack };
}

class Transfer {
  readonly #t0 = performance.now();
  readonly #blksize: number;
  readonly #timeoutMs: number;
  readonly #oack: [string, string][];
  readonly #netascii: boolean;
  /** Number of the block in flight (0 while an OACK waits for ACK 0). */
  #block = 0;
  /** Blocks sent so far, without wrap, to compute offsets. */
  #sent = 0;
  #last: Buffer | undefined;
  /** The DATA in flight is shorter than blksize: its ACK ends the transfer (RFC 1350 sec. 6). */
  #final = false;
  #done = false;
  #tries = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sock: Socket,
    private readonly peer: RemoteInfo,
    private readonly fh: FileHandle,
    private readonly size: number,
    req: { readonly mode: string; readonly options: TftpOptions },
    private readonly opts: TftpServerOptions,
    private readonly finish: (o: Outcome) => void,
  ) {
    const n = negotiate(req.options, size, { maxBlksize: opts.maxBlksize ?? 1468 });
    this.#blksize = n.blksize;
    this.#timeoutMs = n.timeoutMs ?? opts.timeoutMs ?? 1000;
    this.#oack = n.oack;
    // netascii (RFC 764): LF -> CR LF, CR -> CR NUL. Only small text files use it, so convert once.
    this.#netascii = req.mode === 'netascii';
    sock.on('message', (msg, rinfo) => void this.#onMessage(msg, rinfo));
    sock.on('error', (e) => this.#end({ ok: false, reason: e.message }));
  }

  start(): void {
    if (this.#oack.length > 0) {
      this.#send(encodeTftp({ op: 'oack', options: this.#oack }));
    } else {
      void this.#sendNext();
    }
  }

  abort(): void {
    this.#end({ ok: false, reason: 'server closed' });
  }

  async #onMessage(msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    if (rinfo.address !== this.peer.address || rinfo.port !== this.peer.port) {
      // RFC 1350 sec. 4: a packet from a foreign TID gets an error and does not disturb the transfer.
      this.sock.send(
        encodeTftp({ op: 'error', code: TftpErrorCode.unknownTid, message: 'unknown transfer ID' }),
        rinfo.port,
        rinfo.address,
      );
      return;
    }
    let p: TftpPacket;
    try {
      p = decodeTftp(msg);
    } catch {
      return;
    }
    if (p.op === 'error') return this.#end({ ok: false, reason: `client error ${p.code}: ${p.message}` });
    if (p.op !== 'ack' || p.block !== this.#block || this.#done) return; // duplicate or stale ACK
    if (this.#final) {
      return this.#end({ ok: true, bytes: this.size, ms: performance.now() - this.#t0 });
    }
    await this.#sendNext();
  }

  async #sendNext(): Promise<void> {
    // Advance before the read so that an ACK arriving meanwhile is already stale.
    const index = this.#sent++;
    this.#block = nextBlock(this.#block);
    const data = await this.#readBlock(index);
    if (this.#done) return;
    this.#final = data.length < this.#blksize;
    this.#send(encodeTftp({ op: 'data', block: this.#block, data }));
  }

  async #readBlock(index: number): Promise<Buffer> {
    if (this.#netascii) {
      const all = await this.#netasciiContent();
      return all.subarray(index * this.#blksize, (index + 1) * this.#blksize);
    }
    const buf = Buffer.alloc(this.#blksize);
    const { bytesRead } = await this.fh.read(buf, 0, this.#blksize, index * this.#blksize);
    return buf.subarray(0, bytesRead);
  }

  #converted: Buffer | undefined;
  async #netasciiContent(): Promise<Buffer> {
    if (this.#converted) return this.#converted;
    const raw = await this.fh.readFile();
    const out: number[] = [];
    for (const b of raw) {
      if (b === 0x0a) out.push(0x0d, 0x0a);
      else if (b === 0x0d) out.push(0x0d, 0x00);
      else out.push(b);
    }
    this.#converted = Buffer.from(out);
    return this.#converted;
  }

  #send(packet: Buffer): void {
    this.#last = packet;
    this.#tries = 0;
    this.#transmit();
  }

  #transmit(): void {
    if (this.#done || this.#last === undefined) return;
    this.sock.send(this.#last, this.peer.port, this.peer.address);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#tries += 1;
      if (this.#tries > (this.opts.retries ?? 5)) return this.#end({ ok: false, reason: 'timeout' });
      this.#transmit();
    }, this.#timeoutMs);
  }

  #end(o: Outcome): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.sock.close();
    void this.fh.close();
    this.finish(o);
  }
}
