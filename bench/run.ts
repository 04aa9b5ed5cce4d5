// `npm run bench`: bmlab's virtual BMC side by side with the anchors users know — pyghmi's Bmc (the
// engine of OpenStack VirtualBMC) and OpenIPMI's ipmi_sim — under the same RMCP+ load generator.
//
//   npm run bench -- [--targets bmlab,pyghmi,ipmisim] [--quick] [--workers N] [--out FILE] [--cpu-prof]
//
// Per target, in one run: validate (Get Channel Auth Caps, a cipher-suite-3 session, a Get Chassis
// Status that decodes), session setups per second and RSS before/after them, Get Chassis Status over
// 1, 8 and 64 established sessions (throughput, p50/p99), and RSS with 1,000 BMCs. Server CPU comes from
// the server's threads in /proc (schedstat) over each measured window, so the figures hold even when
// the load generator, not the server, limits throughput ("server busy" says which).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { udpKind } from '../bmc-emulator/src/index.ts';
import {
  ECHO_NAMES,
  type EchoName,
  freePortRange,
  type RunningTarget,
  startEcho,
  startTarget,
  TARGET_NAMES,
  type TargetName,
} from './anchors/targets.ts';
import { type Credentials, Endpoint, pingAuthCaps, RmcpPlusSession, type Target } from './loadgen/client.ts';
import type { Job, LoadResult, PortRange } from './loadgen/load.ts';
import { runLoad } from './loadgen/pool.ts';
import {
  type CpuReading,
  cpuBetween,
  type MemoryFootprint,
  parseKbField,
  parseSchedstatNs,
  parseSmapsRollup,
  parseStatCpu,
} from './src/loadgen/procfs.ts';
import { type LatencySummary, mergeSamples, summarize } from './src/loadgen/stats.ts';

/**
 * steadyMs per row and target is split into `steadyRounds` windows that take turns across the
 * targets (bmlab, pyghmi, ipmi_sim, bmlab, …): on a machine shared with other work the load
 * changes within a minute, and alternating short windows exposes every target to the same load,
 * so the ratios between targets hold even when the absolute figures move.
 */
const PROFILES = {
  full: {
    warmup: 2000,
    setups: 20_000,
    setupLoops: 16,
    setupMaxMs: 120_000,
    steadyMs: 8000,
    steadyRounds: 4,
    steadyWarmupMs: 2000,
    fleet: 1000,
  },
  quick: {
    warmup: 500,
    setups: 2000,
    setupLoops: 16,
    setupMaxMs: 30_000,
    steadyMs: 2000,
    steadyRounds: 2,
    steadyWarmupMs: 1000,
    fleet: 1000,
  },
} as const;
type Profile = (typeof PROFILES)[keyof typeof PROFILES];
const CLIENTS = [1, 8, 64] as const;
const CREDS: Credentials = { user: 'admin', password: 'password' };
const ADDRESS = '127.0.0.1';
/**
 * "Flat" RSS: less growth than this over the second half of the setups. The first half may still
 * warm a garbage-collected heap up to its working size; a per-session leak keeps growing (pyghmi:
 * tens of MB per 10,000 setups).
 */
const FLAT_KB = 2 * 1024;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---- procfs of the server under test ------------------------------------------------------------

/** CPU time of the whole process: each thread's exact run time, and the ticks for the user/kernel split. */
function readCpu(pid: number): CpuReading {
  const threadNs = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      threadNs.set(Number(tid), parseSchedstatNs(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')));
    }
  } catch {
    // A thread that exited while being listed, or no schedstat: cpuBetween uses the ticks then.
    threadNs.clear();
  }
  const { utime, stime } = parseStatCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { threadNs, utime, stime };
}
function rssKb(pid: number): number {
  return parseKbField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
}
function footprint(pid: number): MemoryFootprint {
  return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
}

// ---- client port ranges: never a port the target has seen in this run (see loadgen/load.ts) ------

const CLIENT_PORTS = { from: 33_000, to: 61_000 };
function portCursor() {
  let next = CLIENT_PORTS.from;
  return (count: number): PortRange => {
    if (next + count > CLIENT_PORTS.to) next = CLIENT_PORTS.from;
    const range = { from: next, count };
    next += count;
    return range;
  };
}

// ---- measured phases --------------------------------------------------------------------------------

interface Phase {
  ok: number;
  failed: number;
  errors: LoadResult['errors'];
  sessions: number;
  wallMs: number;
  perSec: number;
  latency: LatencySummary;
  serverCpuMs: number;
  /** Server CPU per completed setup or request, µs. */
  serverCpuUsPerOp: number;
  /** The kernel's share (stime) of the server CPU time, %. */
  serverSysPct: number;
  /** Server CPU time / wall time, % of one core. */
  serverBusyPct: number;
  /** The bench process (load generator threads) CPU time / wall time, % of one core. */
  loadgenBusyPct: number;
  /** The server's VmRSS every 0.1 s of the window: [ms since start, kB]. */
  rssSeries: [number, number][];
}

/** One measured window, before it is summarized (windows of a row are added up). */
interface MeasuredWindow {
  result: LoadResult;
  wallMs: number;
  cpuMs: number;
  sysMs: number;
  loadgenMs: number;
  rssSeries: [number, number][];
}

async function measureWindow(pid: number, job: Job, workers: number): Promise<MeasuredWindow> {
  let cpu0: CpuReading | undefined;
  let cpu1: CpuReading | undefined;
  let wall0 = 0;
  let wall1 = 0;
  let gen0 = process.cpuUsage();
  let gen = { user: 0, system: 0 };
  const rssSeries: [number, number][] = [];
  let sampler: NodeJS.Timeout | undefined;
  const sample = () => rssSeries.push([Math.round(performance.now() - wall0), rssKb(pid)]);
  const result = await runLoad(job, workers, {
    onStart() {
      cpu0 = readCpu(pid);
      gen0 = process.cpuUsage();
      wall0 = performance.now();
      sample();
      sampler = setInterval(sample, 100);
    },
    onStop() {
      wall1 = performance.now();
      cpu1 = readCpu(pid);
      gen = process.cpuUsage(gen0);
      clearInterval(sampler);
      sample();
    },
  });
  return {
    result,
    wallMs: wall1 - wall0,
    ...(cpu0 && cpu1 ? cpuBetween(cpu0, cpu1, CLK_TCK) : { cpuMs: Number.NaN, sysMs: Number.NaN }),
    loadgenMs: (gen.user + gen.system) / 1000,
    rssSeries,
  };
}

/** A phase from its windows: counts, times and latency samples added up. */
function phaseOf(windows: readonly MeasuredWindow[]): Phase {
  const sum = (f: (w: MeasuredWindow) => number) => windows.reduce((n, w) => n + f(w), 0);
  const ok = sum((w) => w.result.ok);
  const wallMs = sum((w) => w.wallMs);
  const serverCpuMs = sum((w) => w.cpuMs);
  const errors: LoadResult['errors'] = {};
  for (const w of windows) {
    for (const [k, v] of Object.entries(w.result.errors)) {
      const slot = errors[k];
      if (slot) slot.count += v.count;
      else errors[k] = { ...v };
    }
  }
  return {
    ok,
    failed: sum((w) => w.result.failed),
    errors,
    sessions: Math.min(...windows.map((w) => w.result.sessions)),
    wallMs,
    perSec: (ok * 1000) / wallMs,
    latency: summarize(mergeSamples(windows.map((w) => w.result.latenciesNs))),
    serverCpuMs,
    serverCpuUsPerOp: ok > 0 ? (serverCpuMs * 1000) / ok : Number.NaN,
    serverSysPct: serverCpuMs > 0 ? (sum((w) => w.sysMs) / serverCpuMs) * 100 : Number.NaN,
    serverBusyPct: (serverCpuMs / wallMs) * 100,
    loadgenBusyPct: (sum((w) => w.loadgenMs) / wallMs) * 100,
    rssSeries: windows[0]?.rssSeries ?? [],
  };
}

async function measure(pid: number, job: Job, workers: number): Promise<Phase> {
  return phaseOf([await measureWindow(pid, job, workers)]);
}

async function validate(target: Target): Promise<{ authCapsCc: number; powerOn: boolean }> {
  const ep = await Endpoint.open(target);
  try {
    const caps = await pingAuthCaps(ep, 1000);
    const session = await RmcpPlusSession.open(ep, CREDS, { timeoutMs: 2000 });
    const { powerOn } = await session.getChassisStatus();
    await session.close();
    return { authCapsCc: caps.cc, powerOn };
  } finally {
    ep.close();
  }
}

// ---- one target ----------------------------------------------------------------------------------

interface FleetReport {
  nodes: number;
  /** 'one process': measured; 'extrapolated': from one single-BMC process (see note). */
  mode: 'one process' | 'extrapolated';
  rssKb: number;
  note: string;
}

interface TargetReport {
  name: TargetName;
  available: boolean;
  reason?: string;
  validation?: { authCapsCc: number; powerOn: boolean };
  /** A freshly started single-BMC process, before any load. */
  freshFootprint?: MemoryFootprint;
  setups?: Phase & { rssBeforeKb: number; rssAfterKb: number; count: number };
  steady: ({ clients: number } & Phase)[];
  fleet?: FleetReport;
  /** VirtualBMC's layout (one process per BMC), estimated from the fresh process: 1,000 × anonymous + file-backed once. */
  perProcessFleetKb?: number;
  errors: string[];
}

function describe(err: unknown): string {
  const e = err as Error;
  return e.message.split('\n').slice(0, 4).join(' | ');
}

/** A target that passed validation and its setups, kept running for the steady rows. */
interface Live {
  report: TargetReport;
  t: RunningTarget;
  target: Target;
  ports: (count: number) => PortRange;
  /** Set when a steady window failed: the target sits out the remaining windows. */
  failed: boolean;
}

/** Starts and validates a target; it stays running when it answered. */
async function prepareTarget(
  name: TargetName,
  nodeArgs: string[],
): Promise<{ report: TargetReport; live?: Live }> {
  const report: TargetReport = { name, available: false, steady: [], errors: [] };
  const ports = portCursor();
  let t: RunningTarget;
  try {
    t = await startTarget(name, {
      nodes: 1,
      basePort: await freePortRange(1),
      address: ADDRESS,
      ...CREDS,
      nodeArgs,
    });
  } catch (err) {
    report.reason = describe(err);
    return { report };
  }
  const target = { host: ADDRESS, port: t.basePort };
  log(`${name}: pid ${t.pid} on udp ${ADDRESS}:${t.basePort}`);
  try {
    try {
      report.validation = await validate(target);
    } catch (err) {
      // One retry, so a lost datagram on a busy machine does not disqualify a target; the first
      // failure stays in the report.
      report.errors.push(`validation, first attempt: ${describe(err)}`);
      report.validation = await validate(target);
    }
    // The footprint of a BMC that has served one session, once it has settled.
    await new Promise((resolve) => setTimeout(resolve, 300));
    report.freshFootprint = footprint(t.pid);
    report.available = true;
    log(`${name}: valid — Get Chassis Status decodes (power ${report.validation.powerOn ? 'on' : 'off'})`);

    return { report, live: { report, t, target, ports, failed: false } };
  } catch (err) {
    if (report.available) report.errors.push(describe(err));
    else report.reason = `started, but failed validation: ${describe(err)}`;
    await t.stop();
    return { report };
  }
}

/**
 * Session setups and RSS before/after them. They run after the steady rows: 20,000 setups leave a
 * garbage-collected server with a heap of dead sessions to collect, which must not be charged to the
 * requests measured next.
 */
async function setupPhase(l: Live, profile: Profile, workers: number): Promise<void> {
  const { report, t, target, ports } = l;
  const name = report.name;
  try {
    const setupJob = (count: number): Job => ({
      kind: 'setups',
      target,
      creds: CREDS,
      concurrency: profile.setupLoops,
      count,
      maxMs: profile.setupMaxMs,
      timeoutMs: 1000,
      ports: ports(Math.ceil(count * 1.05) + 100),
    });
    await measure(t.pid, setupJob(profile.warmup), workers);
    const rssBeforeKb = rssKb(t.pid);
    const setups = await measure(t.pid, setupJob(profile.setups), workers);
    const rssAfterKb = rssKb(t.pid);
    report.setups = { ...setups, rssBeforeKb, rssAfterKb, count: profile.setups };
    log(
      `${name}: ${setups.ok} setups, ${setups.perSec.toFixed(0)}/s, ` +
        `${setups.serverCpuUsPerOp.toFixed(0)} µs server CPU each, RSS ${mb(rssBeforeKb)} → ${mb(rssAfterKb)} MB, ` +
        `load ${load()}`,
    );
  } catch (err) {
    report.errors.push(`setups: ${describe(err)}`);
  }
}

/**
 * Windows that take turns: `rounds` times one window per server, in order, so that a change in the
 * machine's load hits every server alike. `measure` returns undefined for a server that sits out.
 */
async function inTurns<T>(
  servers: readonly T[],
  rounds: number,
  measure: (server: T) => Promise<MeasuredWindow | undefined>,
): Promise<Map<T, MeasuredWindow[]>> {
  const windows = new Map<T, MeasuredWindow[]>(servers.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    for (const server of servers) {
      const w = await measure(server);
      if (w !== undefined) windows.get(server)?.push(w);
    }
  }
  return windows;
}

/** Get Chassis Status over 1, 8 and 64 sessions, each row in windows that take turns across the targets. */
async function steadyRows(live: readonly Live[], profile: Profile, workers: number): Promise<void> {
  // Unmeasured first, so that a JIT-compiled server is not charged for compiling its request path.
  for (const l of live) {
    await measureWindow(
      l.t.pid,
      {
        kind: 'steady',
        target: l.target,
        creds: CREDS,
        clients: 8,
        durationMs: profile.steadyWarmupMs,
        timeoutMs: 1000,
        ports: l.ports(8 * 2 + 20),
      },
      workers,
    ).catch((err) => l.report.errors.push(`steady warm-up: ${describe(err)}`));
  }
  for (const wanted of CLIENTS) {
    const windows = await inTurns(live, profile.steadyRounds, async (l) => {
      if (l.failed) return undefined;
      const clients = Math.min(wanted, l.t.maxSessions);
      try {
        const job: Job = {
          kind: 'steady',
          target: l.target,
          creds: CREDS,
          clients,
          durationMs: profile.steadyMs / profile.steadyRounds,
          timeoutMs: 1000,
          ports: l.ports(clients * 2 + 20),
        };
        return await measureWindow(l.t.pid, job, workers);
      } catch (err) {
        l.report.errors.push(describe(err));
        l.failed = true;
        return undefined;
      }
    });
    for (const l of live) {
      const w = windows.get(l) ?? [];
      if (w.length === 0) continue;
      const clients = Math.min(wanted, l.t.maxSessions);
      const phase = phaseOf(w);
      l.report.steady.push({ clients, ...phase });
      log(
        `${l.report.name}: ${clients} clients, ${phase.perSec.toFixed(0)} req/s, p50 ${phase.latency.p50Us.toFixed(0)} µs, ` +
          `p99 ${phase.latency.p99Us.toFixed(0)} µs, ${phase.serverCpuUsPerOp.toFixed(1)} µs server CPU/req ` +
          `(${w.length} windows), load ${load()}`,
      );
    }
  }
}

/** Stops a target and measures its 1,000-BMC footprint. */
async function finishTarget(report: TargetReport, profile: Profile, t?: RunningTarget): Promise<void> {
  await t?.stop();
  if (report.freshFootprint) {
    const f = report.freshFootprint;
    report.perProcessFleetKb = f.fileKb + profile.fleet * f.anonKb;
  }
  if (!report.available) return;
  try {
    report.fleet = await benchFleet(report.name, profile.fleet, report.freshFootprint);
    log(`${report.name}: ${profile.fleet} BMCs, RSS ${mb(report.fleet.rssKb)} MB (${report.fleet.mode})`);
  } catch (err) {
    report.errors.push(`fleet: ${describe(err)}`);
  }
}

/** RSS with `nodes` BMCs: one process where the implementation allows it, else extrapolated. */
async function benchFleet(name: TargetName, nodes: number, fresh?: MemoryFootprint): Promise<FleetReport> {
  if (name === 'ipmisim') {
    if (!fresh) throw new Error('no single-BMC footprint to extrapolate from');
    return {
      nodes,
      mode: 'extrapolated',
      rssKb: fresh.fileKb + nodes * fresh.anonKb,
      note:
        'ipmi_sim serves one BMC per process (its LAN channels lead to one MC); ' +
        `${nodes} × ${mb(fresh.anonKb)} MB anonymous + ${mb(fresh.fileKb)} MB file-backed once, from one process`,
    };
  }
  const basePort = await freePortRange(nodes, ADDRESS);
  const t = await startTarget(name, { nodes, basePort, address: ADDRESS, ...CREDS, readyTimeoutMs: 120_000 });
  try {
    // Prove the fleet answers: a session and a Get Chassis Status on the first, a middle and the last node.
    for (const i of [0, Math.floor(nodes / 2), nodes - 1]) {
      await validate({ host: ADDRESS, port: basePort + i });
    }
    return {
      nodes,
      mode: 'one process',
      rssKb: rssKb(t.pid),
      note: `${nodes} BMCs in pid ${t.pid}, nodes 0, ${Math.floor(nodes / 2)}, ${nodes - 1} answered`,
    };
  } finally {
    await t.stop();
  }
}

// ---- the machine's floor ----------------------------------------------------------------------------

/** A UDP echo server's CPU per datagram, at 1 and 8 clients: what any server pays here before its work. */
interface FloorReport {
  name: EchoName;
  available: boolean;
  reason?: string;
  rows: { clients: number; serverCpuUsPerOp: number; perSec: number; failed: number }[];
}

const FLOOR_CLIENTS = [1, 8] as const;

/** The echo servers, measured like the steady rows: windows that take turns across them. */
async function floorRows(profile: Profile, workers: number): Promise<FloorReport[]> {
  const reports: FloorReport[] = [];
  const live: {
    report: FloorReport;
    pid: number;
    port: number;
    ports: (n: number) => PortRange;
    stop(): Promise<void>;
  }[] = [];
  for (const name of ECHO_NAMES) {
    const report: FloorReport = { name, available: false, rows: [] };
    reports.push(report);
    try {
      const e = await startEcho(name, ADDRESS, await freePortRange(1));
      report.available = true;
      live.push({ report, pid: e.pid, port: e.port, ports: portCursor(), stop: e.stop });
    } catch (err) {
      report.reason = describe(err);
    }
  }
  const job = (l: (typeof live)[number], clients: number, durationMs: number): Job => ({
    kind: 'echo',
    target: { host: ADDRESS, port: l.port },
    clients,
    durationMs,
    timeoutMs: 1000,
    ports: l.ports(clients * 2 + 20),
  });
  try {
    for (const l of live) await measureWindow(l.pid, job(l, 8, profile.steadyWarmupMs), workers);
    for (const clients of FLOOR_CLIENTS) {
      // Half a steady window: two rows of two servers, not three rows of three.
      const windows = await inTurns(live, profile.steadyRounds, (l) =>
        measureWindow(l.pid, job(l, clients, profile.steadyMs / profile.steadyRounds / 2), workers),
      );
      for (const l of live) {
        const p = phaseOf(windows.get(l) ?? []);
        l.report.rows.push({
          clients,
          serverCpuUsPerOp: p.serverCpuUsPerOp,
          perSec: p.perSec,
          failed: p.failed,
        });
        log(
          `echo ${l.report.name}: ${clients} client(s), ${p.perSec.toFixed(0)} datagrams/s, ${p.serverCpuUsPerOp.toFixed(1)} µs server CPU each, load ${load()}`,
        );
      }
    }
  } catch (err) {
    for (const l of live) if (l.report.rows.length < FLOOR_CLIENTS.length) l.report.reason = describe(err);
  } finally {
    for (const l of live) await l.stop();
  }
  return reports;
}

function floorLines(floor: readonly FloorReport[], udp: string): string[] {
  const label = (n: EchoName) => (n === 'c' ? 'in C (echo.c)' : `in Node on bmlab's UDP sockets (${udp})`);
  return [
    'The floor: server CPU µs per 64-byte datagram of a UDP echo (no IPMI), measured in the same run —',
    'what any server pays here for the wake-up, the system calls and the loopback delivery:',
    ...floor.map((f) =>
      f.available && f.reason === undefined
        ? `  ${label(f.name)}: ${f.rows.map((r) => `${fmt(r.serverCpuUsPerOp, 1)} at ${r.clients} client${r.clients > 1 ? 's' : ''}`).join(', ')}` +
          (f.rows.some((r) => r.failed > 0) ? ` (${f.rows.reduce((n, r) => n + r.failed, 0)} lost)` : '')
        : `  ${label(f.name)}: unavailable — ${f.reason}`,
    ),
  ];
}

// ---- report ----------------------------------------------------------------------------------------

const mb = (kb: number) => (kb / 1024).toFixed(1);
const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? '—'
    : `${(a / b).toFixed(2)}×`;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function table(reports: TargetReport[], profile: Profile): string {
  const by = new Map(reports.map((r) => [r.name, r]));
  const names = reports.map((r) => r.name);
  const cell = (r: TargetReport | undefined, f: (r: TargetReport) => string) =>
    r === undefined ? '' : r.available ? f(r) : 'unavailable';
  const rows: string[][] = [];
  const row = (
    label: string,
    f: (r: TargetReport) => string,
    num?: (r: TargetReport) => number | undefined,
  ) => {
    const bm = by.get('bmlab');
    const cmp = (other: TargetName) =>
      num && bm?.available && by.get(other)?.available ? ratio(num(bm), num(by.get(other)!)) : '';
    rows.push([label, ...names.map((n) => cell(by.get(n), f)), cmp('pyghmi'), cmp('ipmisim')]);
  };
  const s = (r: TargetReport) => r.setups;
  row(
    'session setups/s',
    (r) => fmt(s(r)?.perSec),
    (r) => s(r)?.perSec,
  );
  row(
    '  server CPU µs / setup',
    (r) => fmt(s(r)?.serverCpuUsPerOp),
    (r) => s(r)?.serverCpuUsPerOp,
  );
  row(
    '  setup p50 / p99 ms',
    (r) => `${fmt(s(r) && s(r)!.latency.p50Us / 1000, 2)} / ${fmt(s(r) && s(r)!.latency.p99Us / 1000, 1)}`,
  );
  row('  failed setups', (r) => fmt(s(r)?.failed));
  row('  server busy / loadgen CPU %', (r) => `${fmt(s(r)?.serverBusyPct)} / ${fmt(s(r)?.loadgenBusyPct)}`);
  for (const c of CLIENTS) {
    const st = (r: TargetReport) => r.steady.find((p) => p.clients === c || (c === 64 && p.clients > 8));
    const label = (r: TargetReport) => (st(r) && st(r)!.sessions !== c ? `${st(r)!.sessions}*` : '');
    row(
      `Get Chassis Status/s, ${c} client${c > 1 ? 's' : ''}`,
      (r) => `${fmt(st(r)?.perSec)}${label(r) ? ` (${label(r)})` : ''}`,
      (r) => st(r)?.perSec,
    );
    row(
      '  p50 / p99 µs',
      (r) => `${fmt(st(r)?.latency.p50Us)} / ${fmt(st(r)?.latency.p99Us)}`,
      (r) => st(r)?.latency.p99Us,
    );
    row(
      '  server CPU µs / request',
      (r) => fmt(st(r)?.serverCpuUsPerOp, 1),
      (r) => st(r)?.serverCpuUsPerOp,
    );
    row('  of it in the kernel %', (r) => fmt(st(r)?.serverSysPct));
    row(
      '  = requests/s per server core',
      (r) => fmt(st(r) && 1e6 / st(r)!.serverCpuUsPerOp),
      (r) => st(r) && 1e6 / st(r)!.serverCpuUsPerOp,
    );
    row(
      '  server busy / loadgen CPU %',
      (r) => `${fmt(st(r)?.serverBusyPct)} / ${fmt(st(r)?.loadgenBusyPct)}`,
    );
    row('  failed requests', (r) => fmt(st(r)?.failed));
  }
  row(`RSS MB before → after ${fmt(profile.setups)} setups`, (r) =>
    s(r) ? `${mb(s(r)!.rssBeforeKb)} → ${mb(s(r)!.rssAfterKb)}` : '—',
  );
  row(
    '  RSS growth MB',
    (r) => (s(r) ? mb(s(r)!.rssAfterKb - s(r)!.rssBeforeKb) : '—'),
    (r) => s(r) && s(r)!.rssAfterKb - s(r)!.rssBeforeKb,
  );
  row('  of it in the second half of the setups', (r) =>
    s(r) ? mb(secondHalfGrowthKb(s(r)!.rssSeries)) : '—',
  );
  row(
    `RSS MB, ${fmt(profile.fleet)} BMCs`,
    (r) => (r.fleet ? `${mb(r.fleet.rssKb)}${r.fleet.mode === 'extrapolated' ? ' (est.)' : ''}` : '—'),
    (r) => r.fleet?.rssKb,
  );
  row('  a process per BMC, as VirtualBMC runs it (est.)', (r) =>
    r.name === 'pyghmi' && r.perProcessFleetKb ? mb(r.perProcessFleetKb) : '',
  );

  const header = ['', ...names, 'bmlab/pyghmi', 'bmlab/ipmisim'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** RSS growth between the middle and the end of a phase: a leak keeps growing, a warming heap does not. */
function secondHalfGrowthKb(series: [number, number][]): number {
  const last = series[series.length - 1];
  if (last === undefined) return Number.NaN;
  const mid = series.find(([ms]) => ms >= last[0] / 2) ?? last;
  return last[1] - mid[1];
}

/** The row a steady phase belongs to: ipmi_sim's 63 sessions stand in for 64. */
function wantedClients(clients: number): number {
  return CLIENTS.find((c) => c >= clients) ?? clients;
}

/** Why a steady phase ran fewer sessions than its row asks for. */
function shortfall(r: TargetReport, p: TargetReport['steady'][number]): string {
  const wanted = wantedClients(p.clients);
  if (p.clients < wanted) {
    return `${r.name}: * ${p.sessions} sessions instead of ${wanted}: ipmi_sim's whole session table is 63 (lanserv.h MAX_SESSIONS)`;
  }
  const refused = Object.entries(p.errors).find(([k]) => k.startsWith('setup:'))?.[1];
  return `${r.name}: * ${p.sessions} sessions instead of ${wanted}: ${refused?.count ?? 0} Open Session refused (${refused?.example ?? '?'})`;
}

function verdicts(reports: TargetReport[], profile: Profile): string[] {
  const bm = reports.find((r) => r.name === 'bmlab');
  if (!bm) return [];
  if (!bm.available) return ['n/a  bmlab is unavailable (see above): its targets were not checked'];
  const out: string[] = [];
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'n/a ' : ok ? 'PASS' : 'FAIL');
  for (const anchor of ['ipmisim', 'pyghmi'] as const) {
    const a = reports.find((r) => r.name === anchor);
    const factor = anchor === 'pyghmi' ? 5 : 1;
    for (const p of bm.steady) {
      const q = a?.available
        ? a.steady.find((x) => x.clients === Math.min(p.clients, anchor === 'ipmisim' ? 63 : p.clients))
        : undefined;
      const ok = q ? p.serverCpuUsPerOp * factor <= q.serverCpuUsPerOp : undefined;
      out.push(
        `${mark(ok)} server CPU/request ${factor > 1 ? `≤ ${anchor}/5` : `≤ ${anchor}`} at ${p.clients} client${p.clients > 1 ? 's' : ''}: ` +
          `${fmt(p.serverCpuUsPerOp, 1)} vs ${fmt(q && q.serverCpuUsPerOp / factor, 1)} µs` +
          (factor > 1 ? ` (${anchor} ${fmt(q?.serverCpuUsPerOp, 1)} ÷ ${factor})` : ''),
      );
    }
  }
  const grow = bm.setups && bm.setups.rssAfterKb - bm.setups.rssBeforeKb;
  const late = bm.setups && secondHalfGrowthKb(bm.setups.rssSeries);
  out.push(
    `${mark(late === undefined ? undefined : late < FLAT_KB)} RSS flat over the second half of ${fmt(profile.setups)} setups: ` +
      `${late === undefined ? '—' : mb(late)} MB (limit ${mb(FLAT_KB)}; whole phase ${grow === undefined ? '—' : mb(grow)} MB)`,
  );
  out.push(
    `${mark(bm.fleet && bm.fleet.rssKb < 200 * 1024)} ${fmt(profile.fleet)} BMCs in one process under 200 MB: ${bm.fleet ? mb(bm.fleet.rssKb) : '—'} MB`,
  );
  return out;
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string', default: TARGET_NAMES.join(',') },
      quick: { type: 'boolean', default: false },
      workers: { type: 'string', default: '1' },
      out: { type: 'string', default: 'bench/results/latest.json' },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const names = values.targets.split(',').map((s) => s.trim()) as TargetName[];
  const unknown = names.filter((n) => !TARGET_NAMES.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown target(s) ${unknown.join(', ')}; known: ${TARGET_NAMES.join(', ')}\n`,
    );
    return 2;
  }
  const workers = Math.max(1, Number(values.workers) || 1);
  const profile = values.quick ? PROFILES.quick : PROFILES.full;
  const startedAt = new Date().toISOString();
  // The bmlab server inherits this environment and this build: it picks the same UDP sockets.
  const udp = udpKind();
  log(
    `${values.quick ? 'quick' : 'full'} run, targets ${names.join(', ')}, ${workers} load worker(s), ` +
      `${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );

  const reports: TargetReport[] = [];
  // --cpu-prof: the single-BMC bmlab process runs under node --cpu-prof (open the file in Chrome DevTools).
  const profDir = join(dirname(values.out), 'profiles');
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const live: Live[] = [];
  for (const name of names) {
    const prepared = await prepareTarget(name, nodeArgs);
    reports.push(prepared.report);
    if (prepared.live) live.push(prepared.live);
  }
  await steadyRows(live, profile, workers);
  for (const l of live) await setupPhase(l, profile, workers);
  // Last of the measured phases: a garbage-collected target left idle meanwhile shrinks its heap, and
  // would regrow it during the setups' RSS measurement.
  const floor = await floorRows(profile, workers);
  for (const r of reports) await finishTarget(r, profile, live.find((l) => l.report === r)?.t);
  if (values['cpu-prof']) log(`bmlab CPU profile written to ${profDir}/`);

  const text = [
    '',
    `RMCP+ cipher suite 3, 127.0.0.1, ${workers} load worker thread(s); setups: ${profile.setupLoops} loops of Open Session → RAKP 1-4 → Close Session,`,
    `a fresh client port each; Get Chassis Status back to back for ${profile.steadyMs / 1000} s per row and target, in ${profile.steadyRounds} windows`,
    `that take turns across the targets. Server CPU from /proc/<pid>/task/*/schedstat. Load average at the end: ${load()}.`,
    `bmlab's UDP sockets: ${udp === 'native' ? "bmlab's addon (BMLAB_UDP=dgram for node:dgram)" : 'node:dgram'}.`,
    '',
    table(reports, profile),
    '',
    ...reports.filter((r) => r.fleet).map((r) => `${r.name}: ${r.fleet!.note}`),
    ...reports.flatMap((r) =>
      r.steady.filter((p) => p.sessions < wantedClients(p.clients)).map((p) => shortfall(r, p)),
    ),
    ...reports.flatMap((r) => r.errors.map((e) => `${r.name}: error: ${e}`)),
    ...reports.filter((r) => !r.available).map((r) => `${r.name}: unavailable — ${r.reason}`),
    '',
    ...floorLines(floor, udp === 'native' ? 'the addon' : 'node:dgram'),
    '',
    ...verdicts(reports, profile),
    '',
  ].join('\n');
  process.stdout.write(text);

  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        profile: values.quick ? 'quick' : 'full',
        settings: { ...profile, clients: CLIENTS, workers },
        host: { cpus: cpus().length, loadavgAtEnd: loadavg(), node: process.version },
        bmlabUdp: udp,
        targets: reports,
        floor,
        verdicts: verdicts(reports, profile),
      },
      null,
      1,
    )}\n`,
  );
  log(`wrote ${values.out}`);
  return 0;
}

process.exitCode = await main();
