// `npm run bench:flow`: N sim nodes through enroll → manage → inspect → provide → deploy → active →
// undeploy against bmlab's mock Ironic, with the reference lab's settings ([ipmi]min_command_interval
// 1, an agent heartbeat every 2 s) and real ipmitool subprocesses against the virtual BMCs. Reports
// wall time and where it goes: the ipmitool processes and the min_command_interval spacing, agent
// heartbeats, the time nodes spent in each state, and the CPU each party used.
//
// Mock Ironic runs as its own process (`bmlab ironic serve`), as a real Ironic does, so its ipmitool
// forks and the lab's work can use both cores; `--mock in-process` runs it inside the lab instead.
//
//   npm run bench:flow -- [--nodes 100] [--heartbeat-ms 2000] [--min-command-interval 1]
//                         [--time-scale 0.05] [--mock process|in-process] [--mock-cpu-prof DIR]
//                         [--ipmitool-oem-list short|system]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Lab } from '../lab/src/index.ts';
import type { ConductorStats } from '../mock-ironic/src/index.ts';
import { enrollInspectDeploy, type RunRecord, runScenario } from '../scenarios/src/index.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    'heartbeat-ms': { type: 'string', default: '2000' },
    'min-command-interval': { type: 'string', default: '1' },
    'time-scale': { type: 'string', default: '0.05' },
    mock: { type: 'string', default: 'process' },
    // Profile the mock's process too (the lab's: run this script with `node --cpu-prof`).
    'mock-cpu-prof': { type: 'string' },
    // The IANA list the mock's ipmitool loads (IpmiToolConfig.oemList): `system` costs ~17 ms per run.
    'ipmitool-oem-list': { type: 'string', default: 'short' },
  },
});
const nodes = Number(values.nodes);
const mode = values.mock;
if (mode !== 'process' && mode !== 'in-process') throw new Error(`--mock ${mode}: process or in-process`);
const minCommandInterval = Number(values['min-command-interval']);
const heartbeatMs = Number(values['heartbeat-ms']);
const timeScale = Number(values['time-scale']);

// The conductor settings of `bmlab run` against the mock (lab/src/run.ts), Ironic's defaults otherwise.
const conductor = {
  minCommandInterval,
  commandRetryTimeout: 60,
  automatedClean: false,
  syncPowerStateInterval: 60,
  checkProvisionStateInterval: 2,
  postDeployGetPowerStateRetryInterval: 1,
};

/** utime+stime (own) and cutime+cstime (waited-for children: ipmitool) of a process, in seconds. */
function procCpu(pid: number | 'self'): { own: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f
    .slice(f.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const hz = 100;
  // Fields 14-17 of proc(5), counted from the state field (3) here.
  return { own: ((v[11] ?? 0) + (v[12] ?? 0)) / hz, children: ((v[13] ?? 0) + (v[14] ?? 0)) / hz };
}

/** Busy and total CPU seconds of the whole machine (/proc/stat), to see what else ran meanwhile. */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

/** 127.0.1.1, 127.0.1.2, …: a BMC address per node, as `bmlab run` does (Ironic throttles per address). */
const rack = (n: number) =>
  Array.from({ length: n }, (_, i) => `127.0.${1 + Math.floor(i / 254)}.${(i % 254) + 1}`);

async function startMockProcess(lab: Lab, statsFile: string): Promise<{ proc: ChildProcess; url: string }> {
  const prof = values['mock-cpu-prof'];
  const args = [
    ...(prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]),
    join(import.meta.dirname, '..', 'bin', 'bmlab.mjs'),
    'ironic',
    'serve',
    '--port',
    '0',
    '--state-dir',
    join(lab.stateDir, 'ironic'),
    '--http-root',
    lab.httpRoot,
    '--http-url',
    lab.httpUrl,
    '--min-command-interval',
    String(conductor.minCommandInterval),
    '--command-retry-timeout',
    String(conductor.commandRetryTimeout),
    '--automated-clean',
    String(conductor.automatedClean),
    '--sync-power-state-interval',
    String(conductor.syncPowerStateInterval),
    '--check-provision-state-interval',
    String(conductor.checkProvisionStateInterval),
    '--post-deploy-get-power-state-retry-interval',
    String(conductor.postDeployGetPowerStateRetryInterval),
    '--stats-file',
    statsFile,
    '--ipmitool-oem-list',
    String(values['ipmitool-oem-list']),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  let url: string | undefined;
  for await (const line of lines) {
    const m = /^mock Ironic (\S+)/.exec(line);
    if (m) url = m[1];
    if (line === 'ready') break;
  }
  if (url === undefined) throw new Error('bmlab ironic serve did not start');
  return { proc, url };
}

const load0 = loadavg();
const machine0 = machineCpu();
const self0 = procCpu('self');
const t0 = performance.now();

const lab = await Lab.start({
  nodes,
  bmc: { addresses: rack(nodes) },
  timeScale,
  agent: { heartbeatIntervalMs: heartbeatMs },
  ...(mode === 'in-process' ? { mockIronic: conductor } : {}),
});
let record: RunRecord;
let mockCpu = { own: 0, children: 0 };
let stats: ConductorStats & { eventLoopDelay?: { meanMs: number; p99Ms: number; maxMs: number } };
let selfEnd = self0;
try {
  const statsFile = join(lab.stateDir, 'conductor-stats.json');
  const mock = mode === 'process' ? await startMockProcess(lab, statsFile) : undefined;
  const ironicUrl = mock?.url ?? (lab.ironicUrl as string);
  const labUrl = await lab.serveApi();
  record = await runScenario(enrollInspectDeploy, {
    ironicUrl,
    ironicLabel: 'mock',
    labUrl,
    nodes,
    backend: 'sim',
    // As `bmlab run` polls the mock: 5 ms per node, between 100 ms and 1 s.
    pollMs: Math.min(1_000, Math.max(100, nodes * 5)),
    // A busy machine slows every node down; measure that rather than fail on the scenario's 2 min.
    stateTimeoutMs: 600_000,
  });
  // Before the mock exits: once reaped, its CPU would count as this process's children.
  selfEnd = procCpu('self');
  if (mock !== undefined) {
    mockCpu = procCpu(mock.proc.pid as number);
    const exited = once(mock.proc, 'exit');
    mock.proc.kill('SIGTERM');
    await exited;
    stats = JSON.parse(readFileSync(statsFile, 'utf8')) as typeof stats;
  } else {
    stats = lab.ironic?.conductor.stats() as ConductorStats;
  }
} finally {
  await lab.stop();
}
const wall = (performance.now() - t0) / 1000;
const self = selfEnd;
const machine = machineCpu();
const load1 = loadavg();

// Time per provision state, summed over nodes, from the timeline.
const inState = new Map<string, number>();
for (const n of record.nodes) {
  const ev = record.events.filter((e) => e.node === n.node && e.kind === 'provision');
  for (const [i, e] of ev.entries()) {
    const end = ev[i + 1]?.at ?? e.at;
    inState.set(e.label, (inState.get(e.label) ?? 0) + (end - e.at));
  }
}
const count = (kind: string, label?: string) =>
  record.events.filter((e) => e.kind === kind && (label === undefined || e.label === label)).length;
const ipmiRequests = record.nodes.reduce((a, n) => a + n.ipmiCommands, 0);
// Every ipmitool run ends its RMCP+ session with Close Session: the BMCs' own count of runs.
const sessions = count('ipmi', 'closeSession');
const heartbeats = count('agent', 'heartbeat');
const durations = record.nodes.map((n) => n.durationMs / 1000).sort((a, b) => a - b);
const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0;
const ip = stats.ipmi;
const own = {
  lab: self.own - self0.own,
  labChildren: self.children - self0.children,
  mock: mockCpu.own,
  mockChildren: mockCpu.children,
};
const ipmitoolCpu = own.labChildren + own.mockChildren;
const ours = own.lab + own.mock + ipmitoolCpu;
const busy = machine.busy - machine0.busy;
const avail = machine.total - machine0.total;
const f1 = (x: number) => x.toFixed(1);
const perNode = (x: number) => (x / nodes).toFixed(2);

const out: string[] = [];
const say = (s: string) => out.push(s);
say(
  `enroll-inspect-deploy, ${nodes} sim nodes, mock Ironic (${mode}), min_command_interval ${minCommandInterval} s, heartbeat ${heartbeatMs} ms, time-scale ${timeScale}: ${record.ok ? 'PASS' : 'FAIL'}`,
);
say(`  wall time              ${f1(wall)} s   (target < 60 s)`);
say(
  `  per-node flow          median ${f1(pct(0.5))} s, p90 ${f1(pct(0.9))} s, slowest ${f1(durations.at(-1) ?? 0)} s`,
);
// A node's IPMI commands run one after another, so their time and the spacing between them lie on
// its path; the rest is the agent (boot, lookup, heartbeats), the sim and the scenario's polling.
const meanFlow = durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length);
const execPerNode = ip.execMs / 1000 / nodes;
const throttlePerNode = ip.throttleMs / 1000 / nodes;
say(
  `  a node's path (mean)   ${f1(meanFlow)} s = ipmitool runs ${f1(execPerNode)} s + min_command_interval spacing ${f1(throttlePerNode)} s + the rest ${f1(meanFlow - execPerNode - throttlePerNode)} s (agent boot and heartbeats, sim, polling)`,
);
say(
  `  machine                ${cpus().length} CPUs, load ${load0[0]?.toFixed(2)} before, ${load1[0]?.toFixed(2)} after; busy ${f1(busy)} of ${f1(avail)} CPU-s, of which others ${f1(Math.max(0, busy - ours))} CPU-s`,
);
say('  CPU (s)');
say(`    lab process          ${f1(own.lab)}   (BMCs, sim, agents, boot HTTP, scenario client)`);
if (mode === 'process') say(`    mock Ironic process  ${f1(own.mock)}   (API, conductor, spawning ipmitool)`);
say(
  `    ipmitool processes   ${f1(ipmitoolCpu)}   (${((ipmitoolCpu / Math.max(1, ip.runs)) * 1000).toFixed(1)} ms per run)`,
);
if (stats.eventLoopDelay !== undefined) {
  const d = stats.eventLoopDelay;
  say(`    mock event loop      delay mean ${d.meanMs} ms, p99 ${d.p99Ms} ms, max ${d.maxMs} ms`);
}
say('  IPMI (conductor side)');
say(
  `    ipmitool runs        ${ip.runs} (${perNode(ip.runs)} per node), ${ip.failures} failed and retried; BMCs saw ${sessions} sessions, ${ipmiRequests} requests`,
);
say(
  `    time in ipmitool     ${f1(ip.execMs / 1000)} node-s (${perNode(ip.execMs / 1000)} s per node, ${(ip.execMs / Math.max(1, ip.runs)).toFixed(0)} ms per run)`,
);
say(
  `    min_command_interval ${f1(ip.throttleMs / 1000)} node-s waited between commands (${perNode(ip.throttleMs / 1000)} s per node)`,
);
for (const [cmd, n] of Object.entries(ip.bySubcommand).sort((a, b) => b[1] - a[1]))
  say(`      ${cmd.padEnd(34)} ${String(n).padStart(6)}  (${perNode(n)} per node)`);
say('  agent');
say(
  `    heartbeats           ${heartbeats} sent, ${stats.heartbeats.processed} acted on, ${stats.heartbeats.skippedLocked} skipped (node locked); ${stats.agentCommands} agent commands`,
);
say(
  `    waiting for agent    ${f1(((inState.get('wait call-back') ?? 0) + (inState.get('inspect wait') ?? 0)) / 1000)} node-s in wait call-back + inspect wait`,
);
say(`  Ironic API calls       ${count('api')} by the scenario`);
say('  node-seconds per provision state (where the time goes):');
for (const [s, ms] of [...inState.entries()].sort((a, b) => b[1] - a[1]))
  say(`    ${s.padEnd(16)} ${f1(ms / 1000).padStart(8)} s  (${perNode(ms / 1000)} s per node)`);
console.log(out.join('\n'));
if (!record.ok) {
  for (const n of record.nodes.filter((x) => !x.ok).slice(0, 5))
    console.log(`  FAILED ${n.node}: ${n.failure?.step}: ${n.failure?.message}`);
}
process.exit(record.ok ? 0 : 1);
