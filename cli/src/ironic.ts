import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import { serveMockIronic } from '../../mock-ironic/src/index.ts';

export const IRONIC_HELP = `Usage: bmlab ironic serve [options]

Serves bmlab's mock Ironic (the v1 REST API, provision state machine and a conductor that drives
BMCs with ipmitool) until SIGINT or SIGTERM.

  --port P          API port (default 6385)
  --host A          listen address (default 127.0.0.1)
  --state-dir DIR   keep the database (ironic.sqlite) and boot files here (default: in memory)
  --http-root DIR   [deploy]http_root: where iPXE boot files are written
  --http-url URL    [deploy]http_url: where http_root is served
`;

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
  const server = await serveMockIronic({
    port,
    host: values.host,
    ...(values['state-dir'] === undefined ? {} : { stateDir: values['state-dir'] }),
    ...(values['http-root'] === undefined ? {} : { httpRoot: values['http-root'] }),
    ...(values['http-url'] === undefined ? {} : { httpUrl: values['http-url'] }),
  });
  process.stdout.write(`mock Ironic ${server.url}\nready\n`);
  // Stay subscribed (`on`, not `once`): execa's exit hook re-raises a signal that no other
  // listener is left to handle, which would kill the process before it cleans up.
  await new Promise<void>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  await server.stop();
  return 0;
}
