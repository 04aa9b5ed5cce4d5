/**
 * The built-in scenarios by name, and loading a user's scenario from a path (a module that
 * exports a `Scenario` as `scenario` or as its only export).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../common/src/index.ts';
import { agentHeartbeatLost } from './builtin/agent-heartbeat-lost.ts';
import { bmcUnreachableDuringDeploy } from './builtin/bmc-unreachable-during-deploy.ts';
import { bootDeviceNotPersistent } from './builtin/boot-device-not-persistent.ts';
import { cleanOnUndeploy } from './builtin/clean-on-undeploy.ts';
import { enrollInspectDeploy } from './builtin/enroll-inspect-deploy.ts';
import { inspectionNeverCallsBack } from './builtin/inspection-never-calls-back.ts';
import { invalidRequests } from './builtin/invalid-requests.ts';
import { powerCycleStorm } from './builtin/power-cycle-storm.ts';
import { wrongBmcCredentials } from './builtin/wrong-bmc-credentials.ts';
import type { Scenario } from './scenario.ts';

export const builtinScenarios: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [
    enrollInspectDeploy,
    powerCycleStorm,
    bmcUnreachableDuringDeploy,
    agentHeartbeatLost,
    bootDeviceNotPersistent,
    wrongBmcCredentials,
    cleanOnUndeploy,
    inspectionNeverCallsBack,
    invalidRequests,
  ].map((s) => [s.name, s]),
);

function isScenario(x: unknown): x is Scenario {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Scenario).name === 'string' &&
    typeof (x as Scenario).run === 'function'
  );
}

/**
 * A scenario with options chosen: `name:driver=redfish,other=x`. Each must be one the scenario
 * declares, with one of its values; the others keep their defaults.
 */
export function withOptions(base: Scenario, spec: string): Scenario {
  const declared = base.options ?? {};
  const chosen: Record<string, string> = Object.fromEntries(
    Object.entries(declared).map(([k, v]) => [k, v.default]),
  );
  for (const pair of spec.split(',').filter((p) => p !== '')) {
    const [key = '', value] = pair.split('=', 2);
    const opt = declared[key];
    if (opt === undefined)
      throw new ConfigError(
        'scenario',
        `${base.name} has no option '${key}'${Object.keys(declared).length > 0 ? ` (options: ${Object.keys(declared).join(', ')})` : ''}`,
      );
    if (value === undefined || !opt.values.includes(value))
      throw new ConfigError(
        'scenario',
        `${base.name}: option ${key} is one of ${opt.values.join(', ')} (got '${value ?? ''}')`,
      );
    chosen[key] = value;
  }
  return {
    ...base,
    name: `${base.name}:${spec}`,
    run: (ctx) => base.run({ ...ctx, options: chosen }),
  };
}

export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const builtin = builtinScenarios[nameOrPath];
  if (builtin !== undefined) return builtin;
  const withOpts = /^([a-z0-9-]+):(.*)$/.exec(nameOrPath);
  const base = withOpts === null ? undefined : builtinScenarios[withOpts[1] ?? ''];
  if (base !== undefined) return withOptions(base, withOpts?.[2] ?? '');
  if (!/[/\\.]/.test(nameOrPath)) {
    throw new ConfigError(
      'scenario',
      `no built-in scenario '${nameOrPath}' (built in: ${Object.keys(builtinScenarios).join(', ')})`,
    );
  }
  const path = isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(
      'scenario',
      `cannot load ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const found = isScenario(mod['scenario']) ? mod['scenario'] : Object.values(mod).find(isScenario);
  if (found === undefined)
    throw new ConfigError('scenario', `${path} exports no scenario (an object with name and run)`);
  return found;
}
