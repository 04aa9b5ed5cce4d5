/**
 * lab.yaml: what a lab is made of. Validated field by field; every error names the field
 * (`nodes[2].memoryMiB: ...`) so a user can find it.
 *
 *   nodes: 4                     # or a list of nodes:
 *   #  - name: db-1
 *   #    cpus: 8
 *   #    memoryMiB: 32768
 *   #    disks: [{ name: vda, sizeGiB: 100 }]
 *   #    vendor: dell
 *   #    backend: qemu           # this node a real VM (default: the lab's backend)
 *   backend: sim                 # or qemu: real VMs (1 vCPU, 512 MiB, 4 GiB disk unless a node says)
 *   network: { mode: user }      # qemu: user (rootless, QEMU's NAT) or bridge (root: a namespace,
 *                                #   a Linux bridge, a tap per VM, the lab's DHCP, RA and HTTP on it)
 *   timeScale: 1                 # 0.01 makes POST and downloads 100× faster
 *   stateDir: .bmlab
 *   bmc: { address: 127.0.0.1, basePort: 6230, user: admin, password: password, vendor: generic }
 *   httpBoot: { port: 8088 }     # the HTTP boot root (Ironic's [deploy]http_root is <stateDir>/httpboot)
 *   ironic: mock                 # or: none (a real Ironic writes its boot files into the boot root)
 *   ironicPort: 6385
 *   api: { port: 6380 }          # the lab API
 *   redfish: { port: 8000 }      # also serve the nodes over Redfish (sushy-tools paths)
 */
import { parse } from 'yaml';
import { VENDOR_PROFILES } from '../../bmc-emulator/src/index.ts';
import { ConfigError } from '../../common/src/index.ts';
import { defaultMachineSpec, type MachineSpec } from '../../vm-fleet/src/index.ts';
import { qemuDefaultSpec } from './qemu-nodes.ts';

export type Backend = 'sim' | 'qemu';

export interface LabConfig {
  readonly nodes: readonly (MachineSpec & { readonly vendor: string; readonly backend: Backend })[];
  readonly backend: Backend;
  /** How qemu nodes are networked. */
  readonly network: { readonly mode: 'user' | 'bridge' };
  readonly timeScale: number;
  readonly stateDir: string;
  readonly bmc: { address: string; basePort: number; user: string; password: string };
  readonly httpPort: number;
  readonly ironic: 'mock' | 'none';
  readonly ironicPort: number;
  readonly apiPort: number;
  /** Redfish service port, when the lab serves Redfish. */
  readonly redfishPort: number | undefined;
}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(field, 'must be a mapping');
  return v as Obj;
}

function known(o: Obj, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k))
      throw new ConfigError(field === '' ? k : `${field}.${k}`, `unknown field (known: ${keys.join(', ')})`);
  }
}

function int(v: unknown, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, field: string, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(field, `must be a non-empty string, not ${JSON.stringify(v)}`);
  return v;
}

function vendor(v: unknown, field: string, dflt: string): string {
  const s = str(v, field, dflt);
  if (VENDOR_PROFILES[s] === undefined)
    throw new ConfigError(field, `unknown vendor '${s}' (known: ${Object.keys(VENDOR_PROFILES).join(', ')})`);
  return s;
}

function backendOf(v: unknown, field: string, dflt: Backend): Backend {
  const s = str(v, field, dflt);
  if (s !== 'sim' && s !== 'qemu') throw new ConfigError(field, `must be 'sim' or 'qemu', not '${s}'`);
  return s;
}

/** `isRoot`: whether bridge networking can be set up (a namespace, a bridge and taps need root). */
export function parseLabConfig(
  text: string,
  file = 'lab.yaml',
  isRoot: boolean = process.getuid?.() === 0,
): LabConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(file, `is not valid YAML: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const top = obj(doc, file);
  known(top, '', [
    'nodes',
    'backend',
    'timeScale',
    'stateDir',
    'bmc',
    'httpBoot',
    'ironic',
    'ironicPort',
    'api',
    'redfish',
    'network',
  ]);
  const redfish = top['redfish'] === undefined ? undefined : obj(top['redfish'], 'redfish');
  if (redfish !== undefined) known(redfish, 'redfish', ['port']);
  const bmcIn = obj(top['bmc'], 'bmc');
  known(bmcIn, 'bmc', ['address', 'basePort', 'user', 'password', 'vendor']);
  const defaultVendor = vendor(bmcIn['vendor'], 'bmc.vendor', 'generic');

  const backend = backendOf(top['backend'], 'backend', 'sim');
  const networkIn = obj(top['network'], 'network');
  known(networkIn, 'network', ['mode']);
  const mode = str(networkIn['mode'], 'network.mode', 'user');
  if (mode !== 'user' && mode !== 'bridge')
    throw new ConfigError('network.mode', `must be 'user' or 'bridge', not '${mode}'`);
  if (mode === 'bridge' && !isRoot)
    throw new ConfigError(
      'network.mode',
      'bridge needs root (it creates a network namespace, a Linux bridge and a tap per VM); run as root or use user',
    );
  const specFor = (b: Backend, i: number, name?: string) =>
    b === 'qemu' ? qemuDefaultSpec(i, name) : defaultMachineSpec(i, name);
  const rawNodes = top['nodes'] ?? 1;
  let nodes: (MachineSpec & { vendor: string; backend: Backend })[];
  if (typeof rawNodes === 'number') {
    const n = int(rawNodes, 'nodes', 1, 1, 10_000);
    nodes = Array.from({ length: n }, (_, i) => ({ ...specFor(backend, i), vendor: defaultVendor, backend }));
  } else if (Array.isArray(rawNodes)) {
    if (rawNodes.length === 0) throw new ConfigError('nodes', 'lists no node');
    nodes = rawNodes.map((raw, i) => {
      const f = `nodes[${i}]`;
      const o = obj(raw, f);
      known(o, f, ['name', 'cpus', 'memoryMiB', 'disks', 'vendor', 'backend']);
      const nodeBackend = backendOf(o['backend'], `${f}.backend`, backend);
      const base = specFor(nodeBackend, i, str(o['name'], `${f}.name`, `node-${i}`));
      const disksIn = o['disks'];
      let disks = base.disks;
      if (disksIn !== undefined) {
        if (!Array.isArray(disksIn) || disksIn.length === 0)
          throw new ConfigError(`${f}.disks`, 'must be a non-empty list');
        disks = disksIn.map((d, j) => {
          const df = `${f}.disks[${j}]`;
          const dd = obj(d, df);
          known(dd, df, ['name', 'sizeGiB']);
          return {
            name: str(dd['name'], `${df}.name`, `vd${String.fromCharCode(97 + j)}`),
            sizeBytes: int(dd['sizeGiB'], `${df}.sizeGiB`, 20, 1, 65_536) * 1024 ** 3,
          };
        });
      }
      return {
        ...base,
        cpus: int(o['cpus'], `${f}.cpus`, base.cpus, 1, 1024),
        memoryMiB: int(o['memoryMiB'], `${f}.memoryMiB`, base.memoryMiB, 64, 16 * 1024 * 1024),
        disks,
        vendor: vendor(o['vendor'], `${f}.vendor`, defaultVendor),
        backend: nodeBackend,
      };
    });
    const seen = new Set<string>();
    for (const [i, n] of nodes.entries()) {
      if (seen.has(n.name)) throw new ConfigError(`nodes[${i}].name`, `'${n.name}' is used twice`);
      seen.add(n.name);
    }
  } else {
    throw new ConfigError('nodes', 'must be a number or a list of nodes');
  }
  const timeScale = top['timeScale'] ?? 1;
  if (typeof timeScale !== 'number' || !(timeScale > 0) || timeScale > 100) {
    throw new ConfigError(
      'timeScale',
      `must be a number above 0 and at most 100, not ${JSON.stringify(timeScale)}`,
    );
  }
  const http = obj(top['httpBoot'], 'httpBoot');
  known(http, 'httpBoot', ['port']);
  const api = obj(top['api'], 'api');
  known(api, 'api', ['port']);
  const ironic = str(top['ironic'], 'ironic', 'mock');
  if (ironic !== 'mock' && ironic !== 'none')
    throw new ConfigError('ironic', `must be 'mock' or 'none', not '${ironic}'`);
  return {
    nodes,
    backend,
    network: { mode },
    timeScale,
    stateDir: str(top['stateDir'], 'stateDir', '.bmlab'),
    bmc: {
      address: str(bmcIn['address'], 'bmc.address', '127.0.0.1'),
      basePort: int(bmcIn['basePort'], 'bmc.basePort', 6230, 0, 65535 - nodes.length),
      user: str(bmcIn['user'], 'bmc.user', 'admin'),
      password: str(bmcIn['password'], 'bmc.password', 'password'),
    },
    httpPort: int(http['port'], 'httpBoot.port', 8088, 0, 65535),
    ironic,
    ironicPort: int(top['ironicPort'], 'ironicPort', 6385, 0, 65535),
    apiPort: int(api['port'], 'api.port', 6380, 0, 65535),
    redfishPort: redfish === undefined ? undefined : int(redfish['port'], 'redfish.port', 8000, 0, 65535),
  };
}
