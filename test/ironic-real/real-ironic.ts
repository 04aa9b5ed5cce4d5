/**
 * Debian's real OpenStack Ironic 21.4 (+ ironic-inspector 11.1) for a test: the lab's own
 * real-Ironic component (lab/src/real-ironic) in a temporary state directory whose `httpboot`
 * is the boot root. Installed by `scripts/system-deps.sh --ironic`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hasRealInspector,
  hasRealIronic,
  ipxeKernelLine as kernelLineIn,
  type RealIronic as LabRealIronic,
  startRealIronic as startLabRealIronic,
} from '../../lab/src/index.ts';

export { hasRealInspector, hasRealIronic };

export interface RealIronic extends LabRealIronic {
  /** The temporary directory: Ironic's files, `files/` for file:// deploy images, `httpboot/`. */
  readonly state: string;
  readonly httpRoot: string;
}

/**
 * Ironic with the boot root at `<state>/httpboot` (nothing serves it: the tests read the files),
 * with inspector when `inspector` is given (its `[DEFAULT]timeout` in seconds, default 900).
 */
export async function startRealIronic(
  opts: { inspector?: { timeout?: number }; automatedClean?: boolean } = {},
): Promise<RealIronic> {
  const state = mkdtempSync(join(tmpdir(), 'bmlab-ironic-'));
  const httpRoot = join(state, 'httpboot');
  mkdirSync(httpRoot);
  let ironic: LabRealIronic;
  try {
    ironic = await startLabRealIronic({
      stateDir: state,
      httpRoot,
      httpUrl: 'http://127.0.0.1:8088',
      // The tests' fake power interface never sees the agent power the machine off.
      powerOffPolls: 1,
      inspector: opts.inspector ?? false,
      ...(opts.automatedClean === undefined ? {} : { automatedClean: opts.automatedClean }),
    });
  } catch (err) {
    rmSync(state, { recursive: true, force: true });
    throw err;
  }
  return {
    ...ironic,
    state,
    httpRoot,
    stop: async () => {
      await ironic.stop();
      if (!process.env['BMLAB_KEEP_IRONIC_STATE']) rmSync(state, { recursive: true, force: true });
    },
  };
}

/** The agent's kernel line from the iPXE script Ironic wrote under `<state>/httpboot`. */
export function ipxeKernelLine(state: string, uuid: string, mac: string): string {
  return kernelLineIn(join(state, 'httpboot'), uuid, mac);
}
