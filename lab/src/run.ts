/**
 * `bmlab run`: a lab for one scenario — the fleet, its BMCs, the boot services and (with
 * `--ironic mock`) a mock Ironic — then the scenario against it through the public APIs, then
 * the reports. Against a real Ironic (a URL), the lab is the same and the mock is not started.
 */
import { ConfigError } from '../../common/src/index.ts';
import {
  type RunRecord,
  runScenario,
  type Scenario,
  textSummary,
  writeReports,
} from '../../scenarios/src/index.ts';
import { Lab } from './lab.ts';
import { checkRealIronicHost, type RealIronic, startRealIronicForLab } from './real-ironic/index.ts';

export interface RunLabOptions {
  readonly scenario: Scenario;
  /** `mock`, or the base URL of a running Ironic. */
  readonly ironic: string;
  readonly backend: 'sim' | 'qemu';
  readonly nodes?: number;
  readonly reportDir?: string;
  readonly timeScale?: number;
  readonly heartbeatIntervalMs?: number;
  /** Mock Ironic's `[ipmi]min_command_interval` (s); 0 by default for speed, 1 in the reference lab. */
  readonly minCommandInterval?: number;
  readonly out?: (line: string) => void;
  /** Per-node progress (state changes, steps); default: plain lines on `out`. */
  readonly onProgress?: (node: string | undefined, text: string) => void;
}

/** 127.0.1.1, 127.0.1.2, … 127.0.1.254, 127.0.2.1, … — loopback, so nothing to configure. */
export function rackAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${1 + Math.floor(i / 254)}.${(i % 254) + 1}`);
}

export async function runInLab(o: RunLabOptions): Promise<RunRecord> {
  const mock = o.ironic === 'mock';
  const real = o.ironic === 'real';
  if (!mock && !real && !/^https?:\/\//.test(o.ironic))
    throw new ConfigError('ironic', `'${o.ironic}' is neither 'mock', 'real' nor an http(s) URL`);
  if (real) checkRealIronicHost();
  const nodes = o.nodes ?? o.scenario.defaultNodes;
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new ConfigError('nodes', 'must be a whole number of at least 1');
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const lab = await Lab.start({
    nodes,
    backend: o.backend,
    // A BMC address per node, as in a rack (Ironic throttles IPMI per address).
    bmc: { addresses: rackAddresses(nodes) },
    timeScale: o.timeScale ?? 0.05,
    agent: { heartbeatIntervalMs: o.heartbeatIntervalMs ?? 1_000 },
    // Every node also over Redfish, for scenarios that enroll with the redfish hardware type.
    redfish: {},
    ...(mock
      ? {
          mockIronic: {
            minCommandInterval: o.minCommandInterval ?? 0,
            automatedClean: o.scenario.needs?.automatedClean ?? false,
            checkProvisionStateInterval: 2,
            ...(o.scenario.needs?.deployCallbackTimeout === undefined
              ? {}
              : { deployCallbackTimeout: o.scenario.needs.deployCallbackTimeout }),
            ...(o.scenario.needs?.ipmiRetryTimeout === undefined
              ? {}
              : { commandRetryTimeout: o.scenario.needs.ipmiRetryTimeout }),
            ...(o.scenario.needs?.inspectorTimeout === undefined
              ? {}
              : { inspectorTimeout: o.scenario.needs.inspectorTimeout }),
          },
        }
      : {}),
  });
  let realIronic: RealIronic | undefined;
  try {
    // Real Ironic writes boot scripts for the machines: the boot root's address is theirs.
    if (real)
      realIronic = await startRealIronicForLab(
        { stateDir: lab.stateDir, httpRoot: lab.httpRoot, httpUrl: lab.guestHttpUrl },
        o.scenario.needs,
        out,
      );
    const ironicUrl = realIronic?.url ?? (mock ? (lab.ironicUrl as string) : o.ironic);
    const labUrl = await lab.serveApi();
    out(
      `bmlab run ${o.scenario.name}: ${nodes} ${o.backend} nodes, Ironic ${mock || real ? `${o.ironic} at ${ironicUrl}` : o.ironic}, lab API ${labUrl}`,
    );
    const t0 = Date.now();
    const record = await runScenario(o.scenario, {
      ironicUrl,
      ironicLabel: mock ? 'mock' : o.ironic,
      labUrl,
      nodes,
      backend: o.backend,
      // Poll as often as a person watching would like, but not so often that a big fleet's
      // polling becomes the load (100 nodes every 100 ms would be 1,000 API calls a second).
      pollMs: mock || real ? Math.min(1_000, Math.max(real ? 250 : 100, nodes * 5)) : 1_000,
      onProgress:
        o.onProgress ??
        ((node, text) =>
          out(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${node ?? '(run)'}: ${text}`)),
    });
    out('');
    out(textSummary(record));
    if (o.reportDir !== undefined) {
      const paths = await writeReports(record, o.reportDir);
      out(`reports: ${Object.values(paths).join(', ')}`);
    }
    return record;
  } finally {
    await realIronic?.stop();
    await lab.stop();
  }
}
