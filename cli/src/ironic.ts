import { writeFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import { type MockIronicOptions, serveMockIronic } from '../../mock-ironic/src/index.ts';

export const IRONIC_HELP = `Usage: bmlab ironic serve [options]

Serves bmlab's mock Ironic (the v1 REST API, provision state machine and a conductor that drives
BMCs with ipmitool) until SIGINT or SIGTERM.

  --port P          API port (default 6385)
  --host A          listen address (default 127.0.0.1)
  --state-dir DIR   keep the database (ironic.sqlite) and boot files here (default: in memory)
  --http-root DIR   [deploy]http_root: where iPXE boot files are written
  --http-url URL    [deploy]http_url: where http_root is served

Conductor options (ironic.conf names; defaults are Ironic's):
  --min-command-interval S           [ipmi]min_command_interval (5)
  --command-retry-timeout S          [ipmi]command_retry_timeout (60)
  --sync-power-state-interval S      [conductor]sync_power_state_interval (60; 0 = off)
  --check-provision-state-interval S [conductor]check_provision_state_interval (60)
  --deploy-callback-timeout S        [conductor]deploy_callback_timeout (1800)
  --post-deploy-get-power-state-retry-interval S
                                     [agent]post_deploy_get_power_state_retry_interval (5)
  --automated-clean true|false       [conductor]automated_clean (true)
  --ipmitool-oem-list short|system   the IANA list ipmitool loads for commands other than
                                     \`mc info\` (default short: one entry; system: the 4.7 MB
                                     /usr/share/misc list, about 17 ms of CPU per ipmitool run)
  --stats-file FILE                  at exit, write what the conductor did (IPMI runs and the
                                     time in them, heartbeats, event-loop delay) as JSON to FILE
`;

/** A non-negative number of seconds from a flag, or a ConfigError naming the flag. */
function seconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new ConfigError(name, `'${v}' is not a number of seconds`);
  return n;
}

function conductorOptions(values: Record<string, string | boolean | undefined>) {
  const s = (name: string) => seconds(name, values[name] as string | undefined);
  const conductor: NonNullable<MockIronicOptions['conductor']> = {};
  const ipmi: NonNullable<typeof conductor.ipmi> = {};
  const mci = s('min-command-interval');
  if (mci !== undefined) {
    if (mci <= 0) throw new ConfigError('min-command-interval', 'must be more than 0');
    ipmi.minCommandInterval = mci;
  }
  const crt = s('command-retry-timeout');
  if (crt !== undefined) ipmi.commandRetryTimeout = crt;
  const oem = values['ipmitool-oem-list'] as string | undefined;
  if (oem !== undefined) {
    if (oem !== 'short' && oem !== 'system')
      throw new ConfigError('ipmitool-oem-list', `'${oem}' is not short or system`);
    ipmi.oemList = oem;
  }
  if (Object.keys(ipmi).length > 0) conductor.ipmi = ipmi;
  const map: [string, keyof typeof conductor][] = [
    ['sync-power-state-interval', 'syncPowerStateInterval'],
    ['check-provision-state-interval', 'checkProvisionStateInterval'],
    ['deploy-callback-timeout', 'deployCallbackTimeout'],
    ['post-deploy-get-power-state-retry-interval', 'postDeployGetPowerStateRetryInterval'],
  ];
  for (const [flag, key] of map) {
    const v = s(flag);
    if (v !== undefined) (conductor as Record<string, number>)[key] = v;
  }
  const ac = values['automated-clean'] as string | undefined;
  if (ac !== undefined) {
    if (ac !== 'true' && ac !== 'false')
      throw new ConfigError('automated-clean', `'${ac}' is not true or false`);
    conductor.automatedClean = ac === 'true';
  }
  return conductor;
}

export async function ironic(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'real') return (await import('./ironic-real.ts')).ironicReal(rest);
  if (sub !== 'serve') {
    process.stdout.write(IRONIC_HELP);
    return sub === undefined || sub === '--help' || sub === '-h' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      port: { type: 'string', default: '6385' },
      host: { type: 'string', default: '127.0.0.1' },
      'state-dir': { type: 'string' },
      'http-root': { type: 'string' },
      'http-url': { type: 'string' },
      'min-command-interval': { type: 'string' },
      'command-retry-timeout': { type: 'string' },
      'sync-power-state-interval': { type: 'string' },
      'check-provision-state-interval': { type: 'string' },
      'deploy-callback-timeout': { type: 'string' },
      'post-deploy-get-power-state-retry-interval': { type: 'string' },
      'automated-clean': { type: 'string' },
      'ipmitool-oem-list': { type: 'string' },
      'stats-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(IRONIC_HELP);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('port', `'${values.port}' is not a port`);
  const conductor = conductorOptions(values);
  const server = await serveMockIronic({
    port,
    host: values.host,
    ...(values['state-dir'] === undefined ? {} : { stateDir: values['state-dir'] }),
    ...(values['http-root'] === undefined ? {} : { httpRoot: values['http-root'] }),
    ...(values['http-url'] === undefined ? {} : { httpUrl: values['http-url'] }),
    conductor,
  });
  // How long the event loop was held up (API, heartbeats and conductor share it): for --stats-file.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.stdout.write(`mock Ironic ${server.url}\nready\n`);
  // Stay subscribed (`on`, not `once`): execa's exit hook re-raises a signal that no other
  // listener is left to handle, which would kill the process before it cleans up.
  await new Promise<void>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  loop.disable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const stats = {
    ...server.conductor.stats(),
    eventLoopDelay: { meanMs: ms(loop.mean), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max) },
  };
  await server.stop();
  if (values['stats-file'] !== undefined)
    await writeFile(values['stats-file'], `${JSON.stringify(stats, null, 2)}\n`);
  return 0;
}
