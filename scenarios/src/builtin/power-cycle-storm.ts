/**
 * Many power operations through Ironic at once on every node: each must end in the state asked
 * for, as the BMC reports it and as the machine really is, with no node stuck in a transition.
 */
import type { Scenario } from '../scenario.ts';
import { enrollIpmi, manage } from './common.ts';

const ROUNDS = 4;

export const powerCycleStorm: Scenario = {
  name: 'power-cycle-storm',
  description: `${ROUNDS} rounds of power on / reboot / off through Ironic on every node at once`,
  defaultNodes: 8,
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      const node = await enrollIpmi(ctx, n);
      await manage(ctx, n, node.uuid);
      for (let round = 1; round <= ROUNDS; round++) {
        for (const target of ['power on', 'rebooting', 'power off'] as const) {
          await ctx.step(n.name, `round ${round}: ${target}`, async () => {
            await ctx.ironic.setPowerState(node.uuid, target);
            const want = target === 'power off' ? 'power off' : 'power on';
            const x = await ctx.ironic.waitFor(
              node.uuid,
              (y) => y.power_state === want && y.target_power_state == null,
              {
                timeoutMs: ctx.timing.stateTimeoutMs,
                pollMs: ctx.timing.pollMs,
                what: `waiting for ${want}`,
              },
            );
            const lab = await ctx.lab.node(n.name);
            ctx.check(
              n.name,
              `round ${round} ${target}: machine`,
              lab.power === (want === 'power on' ? 'on' : 'off'),
              `machine is ${lab.power}, Ironic says ${x.power_state}`,
            );
          });
        }
      }
      const lab = await ctx.lab.node(n.name);
      ctx.check(
        n.name,
        'BMC answered every power command',
        lab.ipmiCommands > ROUNDS * 3,
        `${lab.ipmiCommands} IPMI commands`,
      );
    });
  },
};
