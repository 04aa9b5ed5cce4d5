/**
 * The quick-start demo (`npm start`): two virtual BMCs in this process, driven by the real
 * ipmitool and FreeIPMI the way an operator or Ironic would, each step checked against the
 * machine behind the BMC. Exits non-zero if any step does not do what it says.
 */
import { execa } from 'execa';
import { serveBmcs } from './bmc-serve.ts';

interface Step {
  readonly title: string;
  readonly argv: readonly string[];
  /** What must hold afterwards: the output and the machine's real state. */
  readonly check: (out: string) => boolean;
}

const ipmiAs = (password: string, port: string, ...args: string[]): string[] => [
  'ipmitool',
  ...['-I', 'lanplus', '-H', '127.0.0.1', '-p', port, '-U', 'admin', '-P', password],
  ...args,
];
const ipmi = (port: string, ...args: string[]): string[] => ipmiAs('password', port, ...args);

export async function runDemo(write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const fleet = await serveBmcs({
    nodes: 2,
    address: '127.0.0.1',
    basePort: 0,
    port: 623,
    user: 'admin',
    password: 'password',
    vendor: 'generic',
    backend: 'memory',
  });
  const [a, b] = fleet.nodes;
  if (a === undefined || b === undefined) throw new Error('demo needs two nodes');
  const pa = String(a.endpoint.address.port);
  const pb = String(b.endpoint.address.port);
  const steps: Step[] = [
    {
      title: 'identify the BMC',
      argv: ipmi(pa, 'mc', 'info'),
      check: (o) => /IPMI Version\s+: 2\.0/.test(o),
    },
    {
      title: 'power state',
      argv: ipmi(pa, 'power', 'status'),
      check: (o) => o.includes('off') && a.machine.powerState() === 'off',
    },
    {
      title: 'Ironic disables the boot-flag timeout',
      argv: ipmi(pa, 'raw', '0x00', '0x08', '0x03', '0x08'),
      check: () => a.bmc.state.boot.validBitClearing === 0x08,
    },
    {
      title: 'network boot next time (as Ironic does before deploy)',
      argv: ipmi(pa, 'chassis', 'bootdev', 'pxe'),
      check: () => a.machine.bootOverride().device === 'pxe',
    },
    { title: 'power on', argv: ipmi(pa, 'power', 'on'), check: () => a.machine.powerState() === 'on' },
    {
      title: 'the one-time PXE override was used by that boot',
      argv: ipmi(pa, 'chassis', 'bootparam', 'get', '5'),
      check: (o) => o.includes('No override') && a.machine.bootOverride().device === 'none',
    },
    {
      title: 'boot from disk from now on, UEFI',
      argv: ipmi(pa, 'chassis', 'bootdev', 'disk', 'options=persistent,efiboot'),
      check: () => {
        const o = a.machine.bootOverride();
        return o.device === 'disk' && o.persistent && o.mode === 'uefi';
      },
    },
    {
      title: 'cipher suite 17 (SHA-256) power cycle',
      argv: ipmi(pa, '-C', '17', 'power', 'cycle'),
      check: () => a.machine.powerState() === 'on',
    },
    {
      title: 'IPMI v1.5 session with MD5 auth on the other node',
      argv: [
        'ipmitool',
        '-I',
        'lan',
        '-A',
        'MD5',
        '-H',
        '127.0.0.1',
        '-p',
        pb,
        '-U',
        'admin',
        '-P',
        'password',
        'power',
        'on',
      ],
      check: () => b.machine.powerState() === 'on',
    },
    {
      title: 'FreeIPMI sees both nodes on',
      argv: ['ipmipower', '-h', `127.0.0.1:${pa},127.0.0.1:${pb}`, '-u', 'admin', '-p', 'password', '--stat'],
      check: (o) => (o.match(/: on/g) ?? []).length === 2,
    },
    {
      title: 'a wrong password is refused',
      argv: ipmiAs('wrong', pa, 'power', 'status'),
      check: (o) => o.includes('Unable to establish'),
    },
    { title: 'power off', argv: ipmi(pa, 'power', 'off'), check: () => a.machine.powerState() === 'off' },
  ];
  write(`bmlab demo: 2 virtual BMCs on 127.0.0.1:${pa} and 127.0.0.1:${pb} (admin / password)\n\n`);
  let failed = 0;
  try {
    for (const [i, s] of steps.entries()) {
      const [cmd, ...args] = s.argv;
      const r = await execa(cmd as string, args, { reject: false, all: true, timeout: 30_000 });
      const out = (r.all ?? '').trim();
      const ok = s.check(out);
      if (!ok) failed++;
      write(`${ok ? 'ok  ' : 'FAIL'} ${i + 1}. ${s.title}\n     $ ${s.argv.join(' ')}\n`);
      for (const line of out.split('\n').slice(0, 12)) write(`       ${line}\n`);
    }
  } finally {
    await fleet.close();
  }
  write(`\n${steps.length - failed} of ${steps.length} steps behaved as a real BMC does.\n`);
  write('Serve your own: npx bmlab bmc serve --nodes 4   (ports 6230-6233)\n');
  return failed === 0 ? 0 : 1;
}
