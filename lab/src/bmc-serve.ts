/**
 * `bmlab bmc serve`: N virtual BMCs in one process, each with the machine it drives. Either
 * node i on UDP base-port + i of one address (VirtualBMC style), or one BMC per address on the
 * standard port 623 (a rack of BMCs on 127.0.1.1-127.0.1.200).
 */

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  Bmc,
  BmcEndpoint,
  createBmcState,
  RedfishServer,
  redfishOptionsFromBmc,
} from '../../bmc-emulator/src/index.ts';
import { ConfigError } from '../../common/src/index.ts';
import { startBootHttp } from '../../network-boot/src/index.ts';
import {
  defaultMachineSpec,
  InMemoryMachine,
  kvmUsable,
  type Machine,
  QemuMachine,
  SimMachine,
} from '../../vm-fleet/src/index.ts';
import { LabState } from './state/persist.ts';

export interface BmcServeOptions {
  readonly nodes: number;
  readonly address: string;
  readonly basePort: number;
  /** One BMC per address instead of one per port. */
  readonly addresses?: readonly string[];
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly vendor: string;
  readonly manufacturerId?: number;
  readonly productId?: number;
  readonly cipherSuites?: readonly number[];
  readonly kg?: string;
  readonly authNone?: boolean;
  readonly maxSessions?: number;
  readonly sessionTimeoutMs?: number;
  readonly coldResetMs?: number;
  /**
   * `sim`: simulated servers (POST, boot order, consoles; without a boot network a PXE boot
   * falls through to the disk); `memory`: the smallest machine, which boots instantly.
   */
  readonly backend: 'sim' | 'memory' | 'qemu';
  /** qemu: where each VM's disks, UEFI variables and serial log live, and the HTTP boot root. */
  readonly stateDir?: string;
  /** Multiplies the sim's delays (1 = realistic). */
  readonly timeScale?: number;
  /** Also serve every node over Redfish on this TCP port (sushy-tools style, 8000 by custom). */
  readonly redfishPort?: number;
  /**
   * Keep every node's BMC and machine state in this SQLite file (the lab's state format) and put
   * it back on the next start: users and passwords changed over IPMI, boot options, SEL, power.
   */
  readonly statePath?: string;
}

export interface ServedNode {
  readonly name: string;
  readonly machine: Machine;
  readonly bmc: Bmc;
  readonly endpoint: BmcEndpoint;
}

export interface BmcFleet {
  readonly nodes: readonly ServedNode[];
  /** The Redfish service's base URL, when one was asked for. */
  readonly redfishUrl: string | undefined;
  /** qemu: the HTTP boot root the VMs' iPXE asks for boot.ipxe (Ironic's http_root goes here). */
  readonly bootRoot: { url: string; dir: string } | undefined;
  close(): Promise<void>;
}

/** Expands "127.0.1.1-127.0.1.200" (or a comma list of such) into addresses. */
export function expandAddresses(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [from, to] = part.split('-');
    const a = ipv4ToInt(from ?? '');
    const b = to === undefined ? a : ipv4ToInt(to);
    if (a === undefined || b === undefined || b < a) {
      throw new ConfigError('addresses', `'${part}' is not an IPv4 address or range A-B`);
    }
    if (b - a >= 65536) throw new ConfigError('addresses', `'${part}' spans more than 65536 addresses`);
    for (let v = a; v <= b; v++) out.push([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'));
  }
  return out;
}

function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return (
    (((parts[0] as number) << 24) >>> 0) +
    ((parts[1] as number) << 16) +
    ((parts[2] as number) << 8) +
    (parts[3] as number)
  );
}

export async function serveBmcs(o: BmcServeOptions): Promise<BmcFleet> {
  if (!Number.isInteger(o.nodes) || o.nodes < 1)
    throw new ConfigError('nodes', 'must be a whole number of at least 1');
  const byAddress = o.addresses !== undefined;
  const count = byAddress ? (o.addresses?.length ?? 0) : o.nodes;
  if (!byAddress && o.basePort + count - 1 > 65535)
    throw new ConfigError('base-port', `ports ${o.basePort}+${count} exceed 65535`);
  const nodes: ServedNode[] = [];
  // QEMU's user networking reaches the host's loopback as 10.0.2.2: the VMs' iPXE fetches
  // boot.ipxe from this boot root, where a provisioning system writes its boot files.
  let boot: Awaited<ReturnType<typeof startBootHttp>> | undefined;
  const stateDir = resolve(o.stateDir ?? '.bmlab');
  const bootDir = join(stateDir, 'httpboot');
  if (o.backend === 'qemu') {
    // Probe KVM once now (up to 5 s), not inside the first `power on`, which must answer quickly.
    await kvmUsable();
    mkdirSync(bootDir, { recursive: true });
    boot = await startBootHttp({ root: bootDir }, { host: '127.0.0.1', port: 0 });
  }
  let redfish: RedfishServer | undefined;
  let saved: LabState | undefined;
  /** Everything started so far, stopped; also what a failed start undoes. */
  const close = async (): Promise<void> => {
    // Before the machines are powered off, so that the file keeps what was on.
    saved?.close();
    await redfish?.close();
    await Promise.all(nodes.map((n) => n.endpoint.close()));
    // A simulated machine's pending boot steps end with its power; a QEMU process is quit.
    await Promise.all(nodes.map((n) => n.machine.powerOff()));
    await boot?.close();
  };
  try {
    for (let i = 0; i < count; i++) {
      const spec = defaultMachineSpec(i);
      const machine =
        o.backend === 'qemu' && boot !== undefined
          ? new QemuMachine({
              // One vCPU and 512 MiB: QEMU emulates in software here (TCG), and every vCPU costs a core.
              spec: { ...spec, cpus: 1, memoryMiB: 512 },
              dir: join(stateDir, 'qemu', spec.name),
              network: { mode: 'user', bootFile: `${boot.url.replace('127.0.0.1', '10.0.2.2')}/boot.ipxe` },
              accel: 'auto',
            })
          : o.backend === 'sim'
            ? new SimMachine({ spec, timeScale: o.timeScale ?? 1 })
            : new InMemoryMachine(spec);
      const state = createBmcState({
        name: spec.name,
        username: o.user,
        password: o.password,
        vendor: o.vendor,
        profile: {
          ...(o.manufacturerId === undefined ? {} : { manufacturerId: o.manufacturerId }),
          ...(o.productId === undefined ? {} : { productId: o.productId }),
        },
        ...(o.cipherSuites === undefined ? {} : { cipherSuites: o.cipherSuites }),
        ...(o.kg === undefined ? {} : { kg: o.kg }),
        ...(o.authNone ? { auth15: { none: true } } : {}),
      });
      const bmc = new Bmc({
        state,
        machine,
        ...(o.maxSessions === undefined ? {} : { maxSessions: o.maxSessions }),
        ...(o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
        ...(o.coldResetMs === undefined ? {} : { coldResetMs: o.coldResetMs }),
      });
      const address = byAddress ? (o.addresses?.[i] as string) : o.address;
      const port = byAddress ? o.port : o.basePort === 0 ? 0 : o.basePort + i;
      const endpoint = await BmcEndpoint.listen(bmc, { address, port }).catch(
        (err: NodeJS.ErrnoException) => {
          const why =
            err.code === 'EADDRINUSE'
              ? 'is in use'
              : err.code === 'EACCES'
                ? 'needs root'
                : err.code === 'EADDRNOTAVAIL'
                  ? 'is not an address of this host'
                  : err.message;
          throw new ConfigError(
            byAddress ? 'addresses' : 'base-port',
            `cannot listen on ${address}:${port}: ${why}`,
            { cause: err },
          );
        },
      );
      nodes.push({ name: spec.name, machine, bmc, endpoint });
    }
  } catch (err) {
    await close();
    throw err;
  }
  if (o.redfishPort !== undefined) {
    try {
      redfish = await RedfishServer.start(
        {
          systems: nodes.map((n) => redfishOptionsFromBmc(n.bmc)),
          auth: { username: o.user, password: o.password },
        },
        { host: byAddress ? '127.0.0.1' : o.address, port: o.redfishPort },
      );
    } catch (err) {
      await close();
      throw new ConfigError(
        'redfish-port',
        `cannot serve Redfish on port ${o.redfishPort}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  if (o.statePath !== undefined) {
    try {
      saved = LabState.open(o.statePath);
      // As after AC power returns: what the power restore policy says comes back on.
      const comeBack = saved.attach(nodes.map((n, index) => ({ ...n, index, agentFaults: undefined })));
      await saved.powerOnRestored(comeBack);
    } catch (err) {
      await close();
      throw err;
    }
  }
  return {
    nodes,
    redfishUrl: redfish?.url,
    bootRoot: boot === undefined ? undefined : { url: boot.url, dir: bootDir },
    close,
  };
}
