/**
 * The BMC stops answering in the middle of a deploy (after the agent is up) and comes back a few
 * seconds later: Ironic retries its IPMI commands within [ipmi]command_retry_timeout, so the deploy
 * recovers and the machine ends up running the image.
 */
import type { Scenario } from '../scenario.ts';
import { enrollIpmi, manage, provide, undeploy, verifyBootedImage } from './common.ts';

const OUTAGE_MS = 4_000;

export const bmcUnreachableDuringDeploy: Scenario = {
  name: 'bmc-unreachable-during-deploy',
  description: `the BMC answers nothing for ${OUTAGE_MS / 1000} s mid-deploy; Ironic's retries carry the deploy through`,
  defaultNodes: 2,
  needs: { ipmiRetryTimeout: 20 },
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      const node = await enrollIpmi(ctx, n);
      await manage(ctx, n, node.uuid);
      await provide(ctx, n, node.uuid);
      await ctx.step(n.name, 'deploy through a BMC outage', async () => {
        const img = ctx.labInfo.images.image;
        await ctx.ironic.patchNode(node.uuid, [
          { op: 'add', path: '/instance_info', value: { image_source: img.url, image_checksum: img.md5 } },
        ]);
        await ctx.ironic.setProvisionState(node.uuid, 'active');
        await ctx.waitForState(n.name, node.uuid, 'wait call-back', { failOn: ['deploy failed'] });
        await ctx.lab.setFaults(n.name, { noAnswer: true });
        ctx.note(n.name, 'BMC unreachable');
        setTimeout(() => {
          void ctx.lab.setFaults(n.name, { noAnswer: false }).then(() => ctx.note(n.name, 'BMC back'));
        }, OUTAGE_MS);
        return ctx.waitForState(n.name, node.uuid, ['active', 'deploy failed']);
      });
      const after = await ctx.ironic.getNode(node.uuid);
      ctx.check(
        n.name,
        'deploy recovered',
        after.provision_state === 'active',
        `provision state ${after.provision_state}: ${after.last_error ?? ''}`,
      );
      if (after.provision_state === 'active') {
        await verifyBootedImage(ctx, n);
        await undeploy(ctx, n, node.uuid);
      }
      await ctx.lab.clearFaults(n.name);
    });
  },
};
