import { parseArgs } from 'node:util';

const HELP = `bmlab — an emulated bare-metal lab

Usage:
  bmlab bmc serve [options]     serve virtual BMCs (IPMI-over-LAN)
  bmlab --help                  this text

Run 'bmlab <command> --help' for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  void parseArgs;
  process.stderr.write(`bmlab: unknown command '${[cmd, ...rest].join(' ')}'\n${HELP}`);
  return 2;
}
