import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import {
  checkRealIronicHost,
  installRealIronic,
  readRealIronic,
  startRealIronic,
  stopRealIronic,
} from '../../lab/src/index.ts';

export const IRONIC_REAL_HELP = `Usage: bmlab ironic real up [options]
       bmlab ironic real status|down [--state-dir DIR]

'up' installs Debian's OpenStack Ironic 21.4 and ironic-inspector 11.1 if missing
(scripts/system-deps.sh --ironic), configures them standalone for the lab (sqlite, noauth, no
keystone/neutron/RabbitMQ; hardware types ipmi, redfish, manual-management, fake-hardware; ipxe/pxe
boot from the lab's HTTP boot root) and starts them in the background. All their files are under
<state-dir>/ironic; nothing under /etc is used. Needs a Debian host and root.
'down' stops them (by the PIDs 'up' recorded).

  --state-dir DIR          the lab's state directory (default .bmlab); Ironic's files go in DIR/ironic
  --http-root DIR          [deploy]http_root (default DIR/httpboot, the lab's boot root)
  --http-url URL           [deploy]http_url (default: the running lab's, from DIR/lab.json)
  --port P                 Ironic API port (default 6385; 0 = any)
  --min-command-interval S [ipmi]min_command_interval (default 1; Ironic's own default is 5)
  --automated-clean        [conductor]automated_clean = True
  --inspector-timeout S    ironic-inspector's [DEFAULT]timeout (default 900)
  --no-inspector           Ironic only
`;

export async function ironicReal(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'up' && sub !== 'down' && sub !== 'status') {
    process.stdout.write(IRONIC_REAL_HELP);
    return sub === undefined || sub === '--help' || sub === '-h' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      'state-dir': { type: 'string', default: '.bmlab' },
      'http-root': { type: 'string' },
      'http-url': { type: 'string' },
      port: { type: 'string', default: '6385' },
      'min-command-interval': { type: 'string', default: '1' },
      'automated-clean': { type: 'boolean', default: false },
      'inspector-timeout': { type: 'string', default: '900' },
      'no-inspector': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(IRONIC_REAL_HELP);
    return 0;
  }
  const stateDir = resolve(values['state-dir']);
  const ironicDir = join(stateDir, 'ironic');
  if (sub === 'down') {
    const stopped = await stopRealIronic(ironicDir);
    process.stdout.write(
      stopped ? `real Ironic stopped (${ironicDir})\n` : `no real Ironic in ${ironicDir}\n`,
    );
    return 0;
  }
  if (sub === 'status') {
    const r = readRealIronic(ironicDir);
    process.stdout.write(
      r === undefined
        ? `no real Ironic is running from ${ironicDir}\n`
        : `Ironic ${r.url} (pid ${r.pids.ironic})${r.inspectorUrl === null ? '' : `, inspector ${r.inspectorUrl} (pid ${r.pids.inspector}), callback ${r.callbackUrl}`}\n`,
    );
    return r === undefined ? 1 : 0;
  }
  checkRealIronicHost();
  const running = readRealIronic(ironicDir);
  if (running !== undefined)
    throw new ConfigError(
      'state-dir',
      `real Ironic already runs from ${ironicDir} (pid ${running.pids.ironic})`,
    );
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('port', `'${values.port}' is not a port`);
  const minInterval = Number(values['min-command-interval']);
  if (!(minInterval >= 0))
    throw new ConfigError(
      'min-command-interval',
      `'${values['min-command-interval']}' is not a number of seconds`,
    );
  const timeout = Number(values['inspector-timeout']);
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new ConfigError(
      'inspector-timeout',
      `'${values['inspector-timeout']}' is not a whole number of seconds`,
    );
  let httpUrl = values['http-url'];
  if (httpUrl === undefined) {
    const labFile = join(stateDir, 'lab.json');
    if (!existsSync(labFile))
      throw new ConfigError(
        'http-url',
        `no running lab in ${stateDir} to take the HTTP boot URL from: start one ('bmlab up') or give --http-url`,
      );
    httpUrl = (JSON.parse(readFileSync(labFile, 'utf8')) as { httpUrl: string }).httpUrl;
  }
  installRealIronic((l) => process.stdout.write(`${l}\n`));
  const ironic = await startRealIronic({
    stateDir: ironicDir,
    httpRoot: values['http-root'] ?? join(stateDir, 'httpboot'),
    httpUrl,
    port,
    minCommandInterval: minInterval,
    automatedClean: values['automated-clean'],
    inspector: values['no-inspector'] ? false : { timeout },
    detached: true,
  });
  process.stdout.write(
    `real Ironic ${ironic.url} (pid ${ironic.pids.ironic}), ready in ${(ironic.startMs / 1000).toFixed(1)} s\n` +
      (ironic.inspector === undefined
        ? ''
        : `ironic-inspector ${ironic.inspector.url} (pid ${ironic.pids.inspector}); ramdisk callback ${ironic.inspector.callbackUrl}/v1/continue\n`) +
      `config and logs: ${ironicDir}\nstop with: bmlab ironic real down --state-dir ${values['state-dir']}\n`,
  );
  return 0;
}
