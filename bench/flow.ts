// `npm run bench:flow`: N sim nodes through enroll → manage → inspect → provide → deploy → active →
// undeploy against bmlab's mock Ironic, with the reference lab's settings ([ipmi]min_command_interval
// 1, an agent heartbeat every 2 s) and real ipmitool subprocesses against the virtual BMCs. Reports
// wall time and where it goes: IPMI calls, agent heartbeats, the time nodes spent in each state.
//
//   npm run bench:flow -- [--nodes 100] [--heartbeat-ms 2000] [--min-command-interval 1] [--time-scale 0.05]
import { parseArgs } from 'node:util';
import { runInLab } from '../lab/src/index.ts';
import { enrollInspectDeploy } from '../scenarios/src/index.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    'heartbeat-ms': { type: 'string', default: '2000' },
    'min-command-interval': { type: 'string', default: '1' },
    'time-scale': { type: 'string', default: '0.05' },
  },
});
const nodes = Number(values.nodes);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const record = await runInLab({
  scenario: enrollInspectDeploy,
  ironic: 'mock',
  backend: 'sim',
  nodes,
  heartbeatIntervalMs: Number(values['heartbeat-ms']),
  minCommandInterval: Number(values['min-command-interval']),
  timeScale: Number(values['time-scale']),
  out: () => {},
  onProgress: () => {},
});
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);

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
const ipmi = record.nodes.reduce((a, n) => a + n.ipmiCommands, 0);
const apiCalls = count('api');
const heartbeats = count('agent', 'heartbeat');

console.log(`enroll-inspect-deploy, ${nodes} sim nodes, mock Ironic: ${record.ok ? 'PASS' : 'FAIL'}`);
console.log(`  wall time            ${wall.toFixed(1)} s   (target < 60 s)`);
console.log(
  `  lab+mock CPU         ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s in this process (ipmitool processes not included)`,
);
console.log(
  `  IPMI requests        ${ipmi} at the BMCs (${(ipmi / nodes).toFixed(0)} per node; an ipmitool call is ~9 requests)`,
);
console.log(`  agent heartbeats     ${heartbeats}`);
console.log(`  Ironic API calls     ${apiCalls} by the scenario`);
console.log('  node-seconds per provision state (where the time goes):');
for (const [s, ms] of [...inState.entries()].sort((a, b) => b[1] - a[1])) {
  console.log(
    `    ${s.padEnd(16)} ${(ms / 1000).toFixed(1).padStart(8)} s  (${(ms / 1000 / nodes).toFixed(2)} s per node)`,
  );
}
process.exit(record.ok ? 0 : 1);
