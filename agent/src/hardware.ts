/**
 * The generic hardware manager (IPA `hardware.py` GenericHardwareManager, version 1.1): the steps it
 * offers Ironic, the disk it installs onto, and the dispatch of a step name to its implementation.
 * Only steps bmlab really performs are offered; Ironic never asks for one that is not listed.
 */
import { errors, IpaError, ipaError } from './errors.ts';
import type { AgentHost, HostInventory, InventoryDisk } from './host.ts';

export const hardwareManager = { name: 'generic_hardware_manager', version: '1.1' } as const;

/** `hardware.get_current_versions()`: what Ironic stores as deploy_version / clean_version. */
export function currentVersions(): Record<string, string> {
  return { [hardwareManager.name]: hardwareManager.version };
}

export interface StepDef {
  readonly step: string;
  readonly priority: number;
  readonly interface: 'deploy' | 'raid';
  readonly reboot_requested: boolean;
  readonly abortable?: boolean;
  readonly argsinfo?: Record<string, unknown>;
}

/** GenericHardwareManager.get_deploy_steps: write_image is proxied by Ironic's out-of-band step (prio 80). */
export const deploySteps: readonly StepDef[] = [
  { step: 'erase_devices_metadata', priority: 0, interface: 'deploy', reboot_requested: false },
  { step: 'write_image', priority: 0, interface: 'deploy', reboot_requested: false },
];

/** GenericHardwareManager.get_clean_steps: automated cleaning runs metadata (99) then full erase (10). */
export const cleanSteps: readonly StepDef[] = [
  { step: 'erase_devices', priority: 10, interface: 'deploy', reboot_requested: false, abortable: true },
  {
    step: 'erase_devices_metadata',
    priority: 99,
    interface: 'deploy',
    reboot_requested: false,
    abortable: true,
  },
  {
    step: 'erase_devices_express',
    priority: 0,
    interface: 'deploy',
    reboot_requested: false,
    abortable: true,
  },
];

/** The `{deploy_steps|clean_steps: {GenericHardwareManager: [...]}}` map (`deduplicate_steps` keys by class). */
export function stepsByManager(steps: readonly StepDef[]): Record<string, StepDef[]> {
  return { GenericHardwareManager: steps.map((s) => ({ ...s })) };
}

function sameVersions(a: unknown, b: Record<string, string>): boolean {
  if (a === null || typeof a !== 'object') return false;
  const ea = Object.entries(a as Record<string, unknown>);
  return ea.length === Object.keys(b).length && ea.every(([k, v]) => b[k] === v);
}

/** `hardware.check_versions`: a missing version means the first step of a run. */
export function checkVersions(provided: unknown): void {
  if (provided === undefined || provided === null) return;
  const mine = currentVersions();
  if (!sameVersions(provided, mine)) throw errors.versionMismatch(mine, provided);
}

const minRootSize = 4 * 1024 ** 3;

/**
 * The install disk (`get_os_install_device`): the node's `root_device` hints when given, otherwise the
 * smallest disk of at least 4 GiB, ties broken by name (`utils.guess_root_disk`).
 */
export function osInstallDevice(inventory: HostInventory, node: unknown): InventoryDisk {
  const hints = ((node as { properties?: { root_device?: unknown } } | null)?.properties?.root_device ??
    null) as Record<string, unknown> | null;
  const disks = [...inventory.disks];
  if (hints !== null && typeof hints === 'object' && Object.keys(hints).length > 0) {
    const match = disks.find((d) => matchesHints(d, hints));
    if (match === undefined) {
      throw ipaError(
        'DeviceNotFound',
        `No suitable device was found for deployment using these hints ${JSON.stringify(hints)}`,
      );
    }
    return match;
  }
  disks.sort((a, b) => a.size - b.size || a.name.localeCompare(b.name));
  const found = disks.find((d) => d.size >= minRootSize);
  if (found === undefined) {
    throw ipaError(
      'DeviceNotFound',
      'No suitable device was found for deployment - root device hints were not provided and all found ' +
        `block devices are smaller than ${minRootSize}B.`,
    );
  }
  return found;
}

/** Root device hints with exact values (ironic-lib `match_root_device_hints`, without operators). */
function matchesHints(d: InventoryDisk, hints: Record<string, unknown>): boolean {
  return Object.entries(hints).every(([k, v]) => {
    switch (k) {
      case 'name':
        return d.name === (String(v).startsWith('/dev/') ? v : `/dev/${v}`);
      case 'size':
        // Hints give GiB.
        return Math.floor(d.size / 1024 ** 3) === Number(v);
      case 'rotational':
        return d.rotational === (v === true || v === 'true' || v === 'True');
      case 'serial':
      case 'model':
      case 'vendor':
      case 'wwn':
      case 'hctl':
      case 'by_path':
        return d[k] !== null && String(d[k]).toLowerCase() === String(v).toLowerCase();
      default:
        return true;
    }
  });
}

export interface StepContext {
  readonly host: AgentHost;
  readonly writeImage: (
    node: unknown,
    imageInfo: Record<string, unknown>,
    configdrive: unknown,
  ) => Promise<unknown>;
}

type StepImpl = (
  node: unknown,
  ports: unknown,
  args: Record<string, unknown>,
  ctx: StepContext,
) => Promise<unknown>;

async function erasableDisks(host: AgentHost): Promise<string[]> {
  return (await host.inventory()).disks.map((d) => d.name);
}

/** Step name -> implementation, with the Python signature each one has after (node, ports). */
const stepImpls: Record<string, { args: readonly string[]; required: readonly string[]; run: StepImpl }> = {
  write_image: {
    args: ['image_info', 'configdrive'],
    required: ['image_info'],
    run: (node, _ports, a, ctx) =>
      ctx.writeImage(node, (a['image_info'] ?? {}) as Record<string, unknown>, a['configdrive']),
  },
  // Returns None: clean_result/deploy_result is null.
  erase_devices_metadata: {
    args: [],
    required: [],
    run: async (_node, _ports, _a, ctx) => {
      for (const dev of await erasableDisks(ctx.host)) await ctx.host.eraseDisk(dev, 'metadata');
      return null;
    },
  },
  // Returns {device: erase output}; the generic shred path gives None per device.
  erase_devices: {
    args: [],
    required: [],
    run: async (_node, _ports, _a, ctx) => {
      const out: Record<string, null> = {};
      for (const dev of await erasableDisks(ctx.host)) {
        await ctx.host.eraseDisk(dev, 'full');
        out[dev] = null;
      }
      return out;
    },
  },
  // Without NVMe/ATA secure erase support IPA falls back to a metadata erase.
  erase_devices_express: {
    args: [],
    required: [],
    run: async (_node, _ports, _a, ctx) => {
      for (const dev of await erasableDisks(ctx.host)) await ctx.host.eraseDisk(dev, 'metadata');
      return null;
    },
  },
};

/**
 * Runs a step as `dispatch_to_managers(step, node, ports, **args)` does, wrapping unexpected failures
 * the way `execute_deploy_step` / `execute_clean_step` do.
 */
export async function runStep(
  kind: 'deploy' | 'clean',
  step: Record<string, unknown>,
  node: unknown,
  ports: unknown,
  extra: Record<string, unknown>,
  ctx: StepContext,
): Promise<unknown> {
  if (!('step' in step)) {
    // A ValueError outside the try in IPA, so it reaches Ironic as CommandExecutionError.
    throw errors.execution(`Malformed ${kind}_step, no "step" key: ${JSON.stringify(step)}`);
  }
  const name = String(step['step']);
  const args = { ...extra, ...((step['args'] as Record<string, unknown> | undefined) ?? {}) };
  const impl = stepImpls[name];
  if (impl === undefined) throw errors.methodNotFound(name);
  const unexpected = Object.keys(args).find((k) => !impl.args.includes(k));
  const missing = impl.required.find((k) => !(k in args));
  try {
    if (unexpected !== undefined)
      throw new TypeError(`${name}() got an unexpected keyword argument '${unexpected}'`);
    if (missing !== undefined)
      throw new TypeError(`${name}() missing 1 required positional argument: '${missing}'`);
    return await impl.run(node, ports, args, ctx);
  } catch (err) {
    if (err instanceof IpaError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw ipaError(
      kind === 'deploy' ? 'DeploymentError' : 'CleaningError',
      `Unexpected exception performing ${kind} step ${name}. ${e.name}: ${e.message}`,
    );
  }
}
