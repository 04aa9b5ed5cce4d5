import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import { runInLab } from '../../lab/src/index.ts';
import { builtinScenarios, loadScenario } from '../../scenarios/src/index.ts';
import { createProgress } from './progress.ts';

export const RUN_HELP = `Usage: bmlab run <scenario> [options]

Runs a scenario — a built-in one by name, or a module of yours by path — against a lab started
for it. Exits 0 only when the scenario passed.

  --ironic mock|real|URL  the provisioning system: bmlab's mock (default), real Ironic 21.4 + inspector
                          started for the run (Debian's packages; root), or a running Ironic
  --backend sim|qemu      the machines (sim: simulated in this process; qemu: real VMs under QEMU,
                          booted from images built once into .bmlab/images)
  --nodes N               fleet size (default: the scenario's)
  --report DIR            write junit.xml, report.html and run.json into DIR
  --time-scale F          multiply the simulated machines' delays (default 0.05)

Built-in scenarios: ${Object.keys(builtinScenarios).join(', ')}
Options of a scenario follow its name: enroll-inspect-deploy:driver=redfish
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ironic: { type: 'string', default: 'mock' },
      backend: { type: 'string', default: 'sim' },
      nodes: { type: 'string' },
      report: { type: 'string' },
      'time-scale': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new ConfigError('scenario', `name a scenario to run\n\n${RUN_HELP}`);
  if (values.backend !== 'sim' && values.backend !== 'qemu')
    throw new ConfigError('backend', `'${values.backend}' is not sim or qemu`);
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1))
    throw new ConfigError('nodes', `'${values.nodes}' is not a whole number of at least 1`);
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  if (timeScale !== undefined && !(timeScale > 0))
    throw new ConfigError('time-scale', `'${values['time-scale']}' is not a positive number`);
  const scenario = await loadScenario(name);
  const progress = createProgress();
  let record: Awaited<ReturnType<typeof runInLab>>;
  try {
    record = await runInLab({
      scenario,
      ironic: values.ironic,
      backend: values.backend,
      ...(nodes === undefined ? {} : { nodes }),
      ...(values.report === undefined ? {} : { reportDir: values.report }),
      ...(timeScale === undefined ? {} : { timeScale }),
      out: (l) => progress.line(l),
      onProgress: (node, text) => progress.update(node, text),
    });
  } finally {
    progress.done();
  }
  return record.ok ? 0 : 1;
}
