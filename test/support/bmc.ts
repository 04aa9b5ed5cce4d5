/** Live virtual BMCs on loopback port 0 for tests that drive them with real clients. */
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import {
  Bmc,
  BmcEndpoint,
  type BmcOptions,
  type BmcStateOptions,
  createBmcState,
  type UdpKind,
} from '../../bmc-emulator/src/index.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../vm-fleet/src/index.ts';

export interface LiveBmc {
  readonly port: number;
  readonly machine: InMemoryMachine;
  readonly bmc: Bmc;
  readonly endpoint: BmcEndpoint;
  close(): Promise<void>;
}

export async function startBmc(
  state: Partial<BmcStateOptions> = {},
  options: Partial<Omit<BmcOptions, 'state' | 'machine'>> = {},
  /** The UDP implementation; by default the one `bmlab` picks. */
  udp?: UdpKind,
): Promise<LiveBmc> {
  const machine = new InMemoryMachine(defaultMachineSpec(0));
  const bmc = new Bmc({ state: createBmcState({ name: 'node-0', ...state }), machine, ...options });
  const endpoint = await BmcEndpoint.listen(bmc, { address: '127.0.0.1', port: 0, ...(udp ? { udp } : {}) });
  return { port: endpoint.address.port, machine, bmc, endpoint, close: () => endpoint.close() };
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export interface RunResult {
  readonly ok: boolean;
  readonly out: string;
}

/** ipmitool against a live BMC; `-R 1 -N 1` keeps failures quick (as Ironic runs it). */
export async function ipmitool(
  port: number,
  args: readonly string[],
  auth: readonly string[] = ['-U', 'admin', '-P', 'password'],
): Promise<RunResult> {
  const iface = args.includes('-I') ? [] : ['-I', 'lanplus'];
  const r = await execa(
    'ipmitool',
    [...iface, '-H', '127.0.0.1', '-p', String(port), ...auth, '-R', '1', '-N', '1', ...args],
    {
      reject: false,
      timeout: 20_000,
      all: true,
    },
  );
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}
