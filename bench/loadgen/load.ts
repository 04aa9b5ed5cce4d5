// The two loads of the benchmark, run inside a worker thread (worker.ts) so the main thread stays free
// to sample the server's /proc counters:
//   setups  back-to-back RMCP+ session setups (Open Session, RAKP 1-4, Close Session) from `concurrency`
//           loops, each setup from a fresh UDP port as every ipmitool run is
//   steady  `clients` established sessions, each sending Get Chassis Status back to back
//   echo    `clients` sockets, each sending a 64-byte datagram back to back to a server that returns
//           it (the machine's floor, bench/anchors/echo.*)
// Client ports are taken in order from a range the caller hands out, never one the target has seen
// before in the run: pyghmi answers an Open Session from a known client address inside that address's
// old (encrypted) session, so a reused port would measure that bug instead of the BMC's speed. The
// kernel's random ephemeral ports repeat (birthday odds) within a few thousand setups.
// Both record one latency sample per setup/request and count failures by kind.
import { Samples } from '../src/loadgen/stats.ts';
import { type Credentials, Endpoint, RmcpPlusSession, type Target } from './client.ts';

/** Local UDP ports [from, from + count) for this job's client sockets. */
export interface PortRange {
  from: number;
  count: number;
}

export type Job =
  | {
      kind: 'setups';
      ports: PortRange;
      target: Target;
      creds: Credentials;
      concurrency: number;
      count: number;
      maxMs: number;
      timeoutMs: number;
    }
  | {
      kind: 'steady';
      ports: PortRange;
      target: Target;
      creds: Credentials;
      clients: number;
      durationMs: number;
      timeoutMs: number;
    }
  | {
      kind: 'echo';
      ports: PortRange;
      target: Target;
      clients: number;
      durationMs: number;
      timeoutMs: number;
    };

export interface LoadResult {
  ok: number;
  failed: number;
  /** Failures by error code, with the first message seen for each. */
  errors: Record<string, { count: number; example: string }>;
  latenciesNs: Float64Array;
  elapsedMs: number;
  /** Sessions that were set up before the measured window (steady load). */
  sessions: number;
}

class Tally {
  ok = 0;
  failed = 0;
  readonly errors: LoadResult['errors'] = {};
  readonly samples = new Samples();

  fail(err: unknown): void {
    this.failed++;
    const e = err as { code?: string; message?: string };
    const key = e.code ?? 'ERR_OTHER';
    const slot = this.errors[key];
    if (slot) slot.count++;
    else this.errors[key] = { count: 1, example: String(e.message ?? err) };
  }

  result(elapsedMs: number, sessions = 0): LoadResult {
    return {
      ok: this.ok,
      failed: this.failed,
      errors: this.errors,
      latenciesNs: this.samples.toArray(),
      elapsedMs,
      sessions,
    };
  }
}

/** Opens endpoints on successive ports of the range, skipping ports someone else holds. */
class PortWalker {
  private next = 0;
  constructor(private readonly range: PortRange) {}

  async open(target: Target): Promise<Endpoint> {
    for (let attempt = 0; ; attempt++) {
      const port = this.range.from + (this.next++ % this.range.count);
      try {
        return await Endpoint.open(target, port);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt > 100) throw err;
      }
    }
  }
}

/**
 * One client's measured loop: `exchange` back to back until `end`, a latency sample per answer; a
 * client that fails 20 times in a row stops (the target is gone or refuses it).
 */
async function backToBack(tally: Tally, end: number, exchange: () => Promise<unknown>): Promise<void> {
  let consecutiveFailures = 0;
  while (performance.now() < end && consecutiveFailures < 20) {
    const t0 = process.hrtime.bigint();
    try {
      await exchange();
      tally.samples.push(Number(process.hrtime.bigint() - t0));
      tally.ok++;
      consecutiveFailures = 0;
    } catch (err) {
      tally.fail(err);
      consecutiveFailures++;
    }
  }
}

/** A load split in two: prepare (not measured) and run (measured), then cleanup. */
export interface PreparedLoad {
  sessions: number;
  run(): Promise<LoadResult>;
  cleanup(): Promise<void>;
}

export async function prepare(job: Job): Promise<PreparedLoad> {
  if (job.kind === 'setups') return prepareSetups(job);
  return job.kind === 'steady' ? prepareSteady(job) : prepareEcho(job);
}

function prepareSetups(job: Extract<Job, { kind: 'setups' }>): PreparedLoad {
  const ports = new PortWalker(job.ports);
  return {
    sessions: 0,
    async run() {
      const tally = new Tally();
      const start = performance.now();
      const end = start + job.maxMs;
      let left = job.count;
      const loop = async () => {
        while (left > 0 && performance.now() < end) {
          left--;
          const t0 = process.hrtime.bigint();
          let ep: Endpoint | undefined;
          try {
            ep = await ports.open(job.target);
            const s = await RmcpPlusSession.open(ep, job.creds, { timeoutMs: job.timeoutMs });
            await s.close();
            tally.samples.push(Number(process.hrtime.bigint() - t0));
            tally.ok++;
          } catch (err) {
            tally.fail(err);
          } finally {
            ep?.close();
          }
        }
      };
      await Promise.all(Array.from({ length: job.concurrency }, loop));
      return tally.result(performance.now() - start);
    },
    async cleanup() {},
  };
}

async function prepareSteady(job: Extract<Job, { kind: 'steady' }>): Promise<PreparedLoad> {
  const setup = new Tally();
  const ports = new PortWalker(job.ports);
  const live: { ep: Endpoint; session: RmcpPlusSession }[] = [];
  // Open the sessions a few at a time: a burst of 64 handshakes is not what is being measured.
  let next = 0;
  const opener = async () => {
    while (next < job.clients) {
      next++;
      const ep = await ports.open(job.target);
      try {
        live.push({ ep, session: await RmcpPlusSession.open(ep, job.creds, { timeoutMs: job.timeoutMs }) });
      } catch (err) {
        setup.fail(err);
        ep.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, job.clients) }, opener));

  return {
    sessions: live.length,
    async run() {
      const tally = new Tally();
      const start = performance.now();
      const end = start + job.durationMs;
      await Promise.all(live.map((l) => backToBack(tally, end, () => l.session.getChassisStatus())));
      const result = tally.result(performance.now() - start, live.length);
      // Sessions the BMC would not open (a full session table) are reported apart from failed requests.
      for (const [k, v] of Object.entries(setup.errors)) {
        result.errors[`setup:${k}`] = v;
      }
      return result;
    },
    async cleanup() {
      await Promise.all(
        live.map(async ({ ep, session }) => {
          try {
            await session.close();
          } catch {
            // The BMC's inactivity timeout reclaims a session whose Close got lost.
          }
          ep.close();
        }),
      );
    },
  };
}

/** The size of a Get Chassis Status request under cipher suite 3, about. */
const ECHO_BYTES = 64;

async function prepareEcho(job: Extract<Job, { kind: 'echo' }>): Promise<PreparedLoad> {
  const ports = new PortWalker(job.ports);
  const eps = await Promise.all(Array.from({ length: job.clients }, () => ports.open(job.target)));
  return {
    sessions: eps.length,
    async run() {
      const tally = new Tally();
      const start = performance.now();
      const end = start + job.durationMs;
      const loop = (ep: Endpoint, i: number) => {
        const frame = Buffer.alloc(ECHO_BYTES, i);
        let n = 0;
        return backToBack(tally, end, () => {
          // A counter in the datagram, so a late echo of an earlier one is not taken for this one's.
          frame.writeUInt32LE(n++, 0);
          return ep.exchange(frame, (r) => (r.equals(frame) ? true : undefined), job.timeoutMs, 'echo');
        });
      };
      await Promise.all(eps.map(loop));
      return tally.result(performance.now() - start, eps.length);
    },
    async cleanup() {
      for (const ep of eps) ep.close();
    },
  };
}
