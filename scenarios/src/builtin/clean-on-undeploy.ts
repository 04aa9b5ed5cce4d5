/**
 * Undeploy with automated cleaning: the node network-boots the agent again (a new boot, a new
 * token), runs erase_devices_metadata then erase_devices, and its disk is really empty after.
 */
import type { Scenario } from '../scenario.ts';
import { checkSequence, deploy, enrollIpmi, manage, provide, verifyBootedImage } from './common.ts';

export const cleanOnUndeploy: Scenario = {
  name: 'clean-on-undeploy',
  description: 'deploy, then undeploy with automated cleaning: the agent erases the disk',
  defaultNodes: 2,
  needs: { automatedClean: true },
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      const node = await enrollIpmi(ctx, n);
      await manage(ctx, n, node.uuid);
      await provide(ctx, n, node.uuid); // cleans once already (automated_clean)
      await deploy(ctx, n, node.uuid);
      await verifyBootedImage(ctx, n);
      const bootsBefore = (await ctx.lab.node(n.name)).agent.boots;
      await ctx.step(n.name, 'undeploy with cleaning', async () => {
        await ctx.ironic.setProvisionState(node.uuid, 'deleted');
        return ctx.waitForState(n.name, node.uuid, 'available', { failOn: ['clean failed', 'error'] });
      });
      const end = await ctx.lab.node(n.name);
      ctx.check(n.name, 'disk erased', end.disk === null, `disk holds ${end.disk?.checksum ?? 'nothing'}`);
      ctx.check(
        n.name,
        'a new agent boot cleaned it',
        end.agent.boots === bootsBefore + 1,
        `agent boots ${bootsBefore} → ${end.agent.boots}`,
      );
      ctx.check(n.name, 'powered off', end.power === 'off', `power is ${end.power}`);
      const steps = (await ctx.lab.events(0, n.name)).filter((e) => e.kind === 'agent').map((e) => e.label);
      ctx.check(
        n.name,
        'clean steps ran',
        steps.includes('execute_clean_step') && steps.includes('get_clean_steps'),
        `agent commands: ${[...new Set(steps)].join(', ')}`,
      );
      // `deleting` and the `cleaning` before the agent boots can pass within one poll (FLEETING in
      // fidelity.ts), as they do against the mock; `clean wait` is where the node waits for its agent.
      checkSequence(ctx, n, ctx.statesSeen(n.name), ['active', 'clean wait', 'available']);
    });
  },
};
