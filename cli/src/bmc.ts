import { parseArgs } from 'node:util';
import { ConfigError } from '../../common/src/index.ts';
import { expandAddresses, serveBmcs } from '../../lab/src/index.ts';

export const BMC_SERVE_HELP = `Usage: bmlab bmc serve [options]

Serves virtual BMCs (IPMI 1.5 and 2.0/RMCP+ over UDP), one per node. Prints one line per node,
then 'ready'; runs until SIGINT or SIGTERM.

  --nodes N               number of BMCs (default 1)
  --address A             address to listen on (default 127.0.0.1)
  --base-port P           node i listens on UDP P+i (default 6230; 0 = any free port)
  --addresses A-B         one BMC per address instead, e.g. 127.0.1.1-127.0.1.200
  --port P                the port used with --addresses (default 623)
  --user NAME             BMC user (default admin)
  --password PW           its password (default password)
  --vendor NAME           Get Device ID profile: generic, dell, hpe, lenovo, supermicro
  --manufacturer-id N     override the profile's IANA manufacturer ID
  --product-id N          override the profile's product ID
  --cipher-suites LIST    RMCP+ cipher suites offered (default 1,2,3,15,16,17; 0 only if listed)
  --kg KEY                BMC key (ipmitool -y / -k)
  --auth-none             allow IPMI 1.5 sessions with authentication type none
  --max-sessions N        sessions per BMC (default 32)
  --session-timeout S     inactivity timeout in seconds (default 60)
  --reset-time S          seconds a BMC stays away after a cold reset (default 3)
  --backend sim|qemu|memory  the machines behind the BMCs (default sim: simulated servers;
                          qemu: real QEMU VMs whose NICs PXE-boot from <state-dir>/httpboot)
  --state-dir DIR         qemu: the VMs' disks and logs, and the HTTP boot root (default .bmlab)
  --time-scale F          multiply the sim's delays (default 1)
  --redfish-port P        also serve every node over Redfish on TCP P (sushy-tools uses 8000):
                          /redfish/v1/Systems/<node>, same user and password
  --state FILE            keep each node's state in FILE (SQLite) and put it back on the next
                          start: users and passwords set over IPMI (these win over --user and
                          --password), boot options, SEL, power (by the power restore policy)
`;

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(name, `'${v}' is not a whole number`);
  return n;
}

export async function bmcServe(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      address: { type: 'string', default: '127.0.0.1' },
      'base-port': { type: 'string' },
      addresses: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string', default: 'admin' },
      password: { type: 'string', default: 'password' },
      vendor: { type: 'string', default: 'generic' },
      'manufacturer-id': { type: 'string' },
      'product-id': { type: 'string' },
      'cipher-suites': { type: 'string' },
      kg: { type: 'string' },
      'auth-none': { type: 'boolean', default: false },
      'max-sessions': { type: 'string' },
      'session-timeout': { type: 'string' },
      'reset-time': { type: 'string' },
      backend: { type: 'string', default: 'sim' },
      'time-scale': { type: 'string' },
      'redfish-port': { type: 'string' },
      'state-dir': { type: 'string' },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(BMC_SERVE_HELP);
    return 0;
  }
  const backend = values.backend;
  if (backend !== 'sim' && backend !== 'memory' && backend !== 'qemu') {
    throw new ConfigError('backend', `'${backend}' is not sim, qemu or memory`);
  }
  const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
  if (!(timeScale > 0))
    throw new ConfigError('time-scale', `'${values['time-scale']}' is not a positive number`);
  const addresses = values.addresses === undefined ? undefined : expandAddresses(values.addresses);
  const suites = values['cipher-suites']?.split(',').map((s) => int('cipher-suites', s.trim(), 0));
  const fleet = await serveBmcs({
    nodes: int('nodes', values.nodes, addresses?.length ?? 1),
    address: values.address,
    basePort: int('base-port', values['base-port'], 6230),
    ...(addresses === undefined ? {} : { addresses }),
    port: int('port', values.port, 623),
    user: values.user,
    password: values.password,
    vendor: values.vendor,
    ...(values['manufacturer-id'] === undefined
      ? {}
      : { manufacturerId: int('manufacturer-id', values['manufacturer-id'], 0) }),
    ...(values['product-id'] === undefined ? {} : { productId: int('product-id', values['product-id'], 0) }),
    ...(suites === undefined ? {} : { cipherSuites: suites }),
    ...(values.kg === undefined ? {} : { kg: values.kg }),
    authNone: values['auth-none'],
    maxSessions: int('max-sessions', values['max-sessions'], 32),
    sessionTimeoutMs: int('session-timeout', values['session-timeout'], 60) * 1000,
    coldResetMs: int('reset-time', values['reset-time'], 3) * 1000,
    backend,
    timeScale,
    ...(values['state-dir'] === undefined ? {} : { stateDir: values['state-dir'] }),
    ...(values.state === undefined ? {} : { statePath: values.state }),
    ...(values['redfish-port'] === undefined
      ? {}
      : { redfishPort: int('redfish-port', values['redfish-port'], 8000) }),
  });
  for (const n of fleet.nodes) {
    const a = n.endpoint.address;
    const mac = n.machine.spec.nics[0]?.mac ?? '-';
    process.stdout.write(`${n.name} ipmi ${a.address}:${a.port} mac ${mac}\n`);
  }
  if (fleet.bootRoot !== undefined) {
    process.stdout.write(`boot root ${fleet.bootRoot.url} (${fleet.bootRoot.dir})\n`);
  }
  if (fleet.redfishUrl !== undefined) {
    process.stdout.write(`redfish ${fleet.redfishUrl}/redfish/v1/Systems/<node>\n`);
  }
  process.stdout.write('ready\n');
  // Stay subscribed (`on`, not `once`): execa's exit hook re-raises a signal that no other
  // listener is left to handle, which would kill the process before it cleans up.
  await new Promise<void>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  await fleet.close();
  return 0;
}
