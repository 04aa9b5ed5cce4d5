import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import { runInLab } from '../../lab/src/index.ts';
import {
  compareRuns,
  type FidelityReport,
  fidelityReport,
  fidelityText,
  loadScenario,
  type RunRecord,
  type ScenarioComparison,
  writeFidelityReport,
} from '../../scenarios/src/index.ts';

/** A small set that covers enroll, in-band and out-of-band inspection, deploy, cleaning, faults and refusals. */
export const DEFAULT_FIDELITY_SCENARIOS = [
  'enroll-inspect-deploy',
  'enroll-inspect-deploy:driver=redfish',
  'clean-on-undeploy',
  'wrong-bmc-credentials',
  'agent-heartbeat-lost',
  'inspection-never-calls-back',
  'invalid-requests',
] as const;

export const FIDELITY_HELP = `Usage: bmlab fidelity [--scenarios a,b,...] [--nodes N] [--report DIR]

Runs each scenario twice — against bmlab's mock Ironic and against real Ironic 21.4 + ironic-inspector
(Debian's packages, started for the run: needs a Debian host and root) — and compares, node by node,
the provision states seen and the API errors returned. Differences listed as known (with their reason,
scenarios/src/fidelity.ts) are reported but accepted; exits 1 on any other difference.

  --scenarios LIST   scenarios to compare (default: ${DEFAULT_FIDELITY_SCENARIOS.join(',')})
  --nodes N          nodes per run (default 1)
  --report DIR       write fidelity.txt, fidelity.json and fidelity.html into DIR
`;

export interface FidelityOptions {
  readonly scenarios: readonly string[];
  readonly nodes?: number;
  readonly reportDir?: string;
  readonly out?: (line: string) => void;
}

export interface FidelityRun {
  readonly report: FidelityReport;
  /** Each scenario's two run records (the conformance checks read the real ones). */
  readonly runs: readonly { readonly scenario: string; readonly mock: RunRecord; readonly real: RunRecord }[];
}

/** Each scenario against the mock, then against real Ironic; the comparison of each pair. */
export async function runFidelity(o: FidelityOptions): Promise<FidelityRun> {
  const out = o.out ?? (() => {});
  const startedAt = new Date().toISOString();
  const compared: ScenarioComparison[] = [];
  const runs: { scenario: string; mock: RunRecord; real: RunRecord }[] = [];
  for (const name of o.scenarios) {
    const scenario = await loadScenario(name);
    const records = [];
    for (const ironic of ['mock', 'real'] as const) {
      const t0 = Date.now();
      const rec = await runInLab({
        scenario,
        ironic,
        backend: 'sim',
        nodes: o.nodes ?? 1,
        out: () => {},
        onProgress: () => {},
      });
      out(
        `${name} against ${ironic}: ${rec.ok ? 'PASS' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      records.push(rec);
    }
    const [mock, real] = records;
    if (mock !== undefined && real !== undefined) {
      compared.push(compareRuns(mock, real));
      runs.push({ scenario: name, mock, real });
    }
  }
  const report = fidelityReport(compared, startedAt);
  if (o.reportDir !== undefined) {
    const paths = writeFidelityReport(report, o.reportDir);
    out(`reports: ${Object.values(paths).join(', ')}`);
  }
  return { report, runs };
}

export async function fidelity(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string' },
      nodes: { type: 'string', default: '1' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(FIDELITY_HELP);
    return 0;
  }
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new ConfigError('nodes', `'${values.nodes}' is not a whole number of at least 1`);
  const scenarios = values.scenarios?.split(',').filter((s) => s !== '') ?? [...DEFAULT_FIDELITY_SCENARIOS];
  // Options of one scenario are comma-separated too (`a:x=1,y=2,b`): a piece with `=` belongs to the
  // scenario before it (scenario names have none).
  const names: string[] = [];
  for (const s of scenarios) {
    const last = names.at(-1);
    if (last?.includes(':') && s.includes('=')) names[names.length - 1] = `${last},${s}`;
    else names.push(s);
  }
  for (const n of names) await loadScenario(n); // unknown names fail before any run
  const { report } = await runFidelity({
    scenarios: names,
    nodes,
    ...(values.report === undefined ? {} : { reportDir: values.report }),
    out: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(`\n${fidelityText(report)}`);
  return report.unexplained === 0 ? 0 : 1;
}
