import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/src/index.ts';
import { builtinScenarios, loadScenario, withOptions } from './library.ts';
import type { Scenario, ScenarioContext } from './scenario.ts';

describe('scenario options', () => {
  const probe: Scenario = {
    name: 'probe',
    description: '',
    defaultNodes: 1,
    options: {
      driver: { description: '', values: ['ipmi', 'redfish'], default: 'ipmi' },
      speed: { description: '', values: ['slow', 'fast'], default: 'slow' },
    },
    async run(ctx) {
      seen.push(ctx.options);
    },
  };
  const seen: Readonly<Record<string, string>>[] = [];

  it('binds chosen values, keeps the other defaults, and names the run with them', async () => {
    const s = withOptions(probe, 'speed=fast');
    expect(s.name).toBe('probe:speed=fast');
    await s.run({ options: { driver: 'ipmi', speed: 'slow' } } as unknown as ScenarioContext);
    expect(seen.at(-1)).toEqual({ driver: 'ipmi', speed: 'fast' });
  });

  it('refuses an option the scenario does not declare, or a value it does not take', () => {
    expect(() => withOptions(probe, 'colour=red')).toThrow(
      /probe has no option 'colour' \(options: driver, speed\)/,
    );
    expect(() => withOptions(probe, 'driver=snmp')).toThrow(ConfigError);
    expect(() => withOptions(probe, 'driver=snmp')).toThrow(
      /option driver is one of ipmi, redfish \(got 'snmp'\)/,
    );
  });

  it('loads a built-in scenario with options by name', async () => {
    const s = await loadScenario('enroll-inspect-deploy:driver=redfish');
    expect(s.name).toBe('enroll-inspect-deploy:driver=redfish');
    expect(s.defaultNodes).toBe(builtinScenarios['enroll-inspect-deploy']?.defaultNodes);
    await expect(loadScenario('enroll-inspect-deploy:driver=snmp')).rejects.toThrow(ConfigError);
    await expect(loadScenario('no-such-scenario:x=1')).rejects.toThrow(/no built-in scenario|cannot load/);
  });
});
