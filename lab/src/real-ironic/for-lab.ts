import { join } from 'node:path';
import { installRealIronic, type RealIronic, startRealIronic } from './real-ironic.ts';

/** How a scenario needs the provisioning system configured (the scenario's `needs`). */
export interface RealIronicNeeds {
  readonly automatedClean?: boolean;
  readonly deployCallbackTimeout?: number;
  readonly ipmiRetryTimeout?: number;
  /** ironic-inspector's `[DEFAULT]timeout` (s). */
  readonly inspectorTimeout?: number;
}

/**
 * Real Ironic + inspector for one lab: installed if missing, its files under the lab's state
 * directory (`<state>/ironic`), booting the lab's machines from the lab's HTTP boot root.
 */
export async function startRealIronicForLab(
  lab: { readonly stateDir: string; readonly httpRoot: string; readonly httpUrl: string },
  needs: RealIronicNeeds = {},
  out: (line: string) => void = () => {},
): Promise<RealIronic> {
  installRealIronic(out);
  return startRealIronic({
    stateDir: join(lab.stateDir, 'ironic'),
    httpRoot: lab.httpRoot,
    httpUrl: lab.httpUrl,
    ...(needs.automatedClean === undefined ? {} : { automatedClean: needs.automatedClean }),
    ...(needs.deployCallbackTimeout === undefined
      ? {}
      : { deployCallbackTimeout: needs.deployCallbackTimeout }),
    ...(needs.ipmiRetryTimeout === undefined ? {} : { ipmiRetryTimeout: needs.ipmiRetryTimeout }),
    inspector: needs.inspectorTimeout === undefined ? {} : { timeout: needs.inspectorTimeout },
  });
}
