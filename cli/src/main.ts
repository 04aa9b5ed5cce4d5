import { BmlabError } from '../../common/src/index.ts';
import { runDemo } from '../../lab/src/index.ts';
import { BMC_SERVE_HELP, bmcServe } from './bmc.ts';
import { ironic } from './ironic.ts';
import { down, status, up } from './lab.ts';
import { run } from './run.ts';

const HELP = `bmlab — an emulated bare-metal lab

Usage:
  bmlab bmc serve [options]     serve virtual BMCs (IPMI-over-LAN)
  bmlab up [lab.yaml]           start a whole lab (fleet, BMCs, boot services, mock Ironic, lab API)
  bmlab status                  the running lab's nodes
  bmlab down                    stop the running lab
  bmlab run <scenario> [opts]   run a scenario against a lab (mock or real Ironic)
  bmlab ironic serve [opts]     serve the mock Ironic alone
  bmlab ironic real up|down     real Ironic + inspector (Debian's) for a lab
  bmlab fidelity [opts]         the same scenarios against mock and real Ironic, compared
  bmlab demo                    drive two virtual BMCs with ipmitool and FreeIPMI
  bmlab --help                  this text

Run 'bmlab <command> --help' for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (cmd === 'demo') return await runDemo();
    const args = [sub, ...rest].filter((x): x is string => x !== undefined);
    if (cmd === 'up') return await up(args);
    if (cmd === 'down') return await down(args);
    if (cmd === 'status') return await status(args);
    if (cmd === 'run') return await run([sub, ...rest].filter((x): x is string => x !== undefined));
    if (cmd === 'fidelity') return await (await import('./fidelity.ts')).fidelity(args);
    if (cmd === 'ironic') return await ironic([sub, ...rest].filter((x): x is string => x !== undefined));
    if (cmd === 'bmc') {
      if (sub === 'serve') return await bmcServe(rest);
      process.stdout.write(BMC_SERVE_HELP);
      return sub === undefined || sub === '--help' ? 0 : 2;
    }
    process.stderr.write(`bmlab: unknown command '${cmd}'\n\n${HELP}`);
    return 2;
  } catch (err) {
    if (
      err instanceof BmlabError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`bmlab: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
