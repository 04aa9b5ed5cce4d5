/**
 * The agent's heartbeats stop after its first one (a hung ramdisk, a network partition): Ironic
 * waits for the call-back, times out after deploy_callback_timeout and fails the deploy.
 */
import type { Scenario } from '../scenario.ts';
import { enrollIpmi, manage, provide, withLastError } from './common.ts';

export const agentHeartbeatLost: Scenario = {
  name: 'agent-heartbeat-lost',
  description: "the agent stops heartbeating during deploy: Ironic's callback timeout fails the deploy",
  defaultNodes: 2,
  needs: { deployCallbackTimeout: 6 },
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      const node = await enrollIpmi(ctx, n);
      await manage(ctx, n, node.uuid);
      await provide(ctx, n, node.uuid);
      await ctx.lab.setFaults(n.name, { agentHeartbeatsStopAfter: 0 });
      const end = await ctx.step(n.name, 'deploy (expected to time out)', async () => {
        const img = ctx.labInfo.images.image;
        await ctx.ironic.patchNode(node.uuid, [
          { op: 'add', path: '/instance_info', value: { image_source: img.url, image_checksum: img.md5 } },
        ]);
        await ctx.ironic.setProvisionState(node.uuid, 'active');
        await ctx.waitForState(n.name, node.uuid, ['deploy failed', 'active']);
        return withLastError(ctx, node.uuid);
      });
      ctx.check(
        n.name,
        'deploy failed',
        end.provision_state === 'deploy failed',
        `provision state ${end.provision_state}`,
      );
      ctx.check(
        n.name,
        'last_error says timeout',
        /timed out|timeout/i.test(end.last_error ?? ''),
        `last_error: ${end.last_error ?? '(none)'}`,
      );
      const lab = await ctx.lab.node(n.name);
      ctx.check(
        n.name,
        'nothing was written',
        lab.disk === null,
        `disk holds ${lab.disk?.checksum ?? 'nothing'}`,
      );
      await ctx.lab.clearFaults(n.name);
    });
  },
};
