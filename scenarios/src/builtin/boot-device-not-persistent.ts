/**
 * A BMC quirk some vendors have: every boot device set over IPMI lasts one boot only, even with
 * `options=persistent`. The deploy must still end with the machine running the image from its
 * disk, and a later reboot through Ironic must come back to it (the machine's own boot order
 * puts the disk first) — or the run shows how it fails.
 */
import type { Scenario } from '../scenario.ts';
import { deploy, enrollIpmi, manage, provide, verifyBootedImage } from './common.ts';

export const bootDeviceNotPersistent: Scenario = {
  name: 'boot-device-not-persistent',
  description: 'the BMC forgets persistent boot devices: deploy and a reboot still boot the disk',
  defaultNodes: 2,
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      await ctx.lab.setFaults(n.name, { bootDeviceNotPersistent: true });
      const node = await enrollIpmi(ctx, n);
      await manage(ctx, n, node.uuid);
      await provide(ctx, n, node.uuid);
      await deploy(ctx, n, node.uuid);
      await verifyBootedImage(ctx, n);
      const lab = await ctx.lab.node(n.name);
      ctx.check(
        n.name,
        'the BMC did not keep the persistent flag',
        !lab.bootOverride.persistent,
        `boot override ${JSON.stringify(lab.bootOverride)}`,
      );
      await ctx.step(n.name, 'reboot through Ironic', async () => {
        const since = Date.now();
        await ctx.ironic.setPowerState(node.uuid, 'rebooting');
        for (let i = 0; i < 200; i++) {
          const booted = (await ctx.lab.events(since, n.name)).some((e) => e.label.startsWith('OS '));
          if (booted) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('the machine did not come back up after the reboot');
      });
      await verifyBootedImage(ctx, n);
      await ctx.lab.clearFaults(n.name);
    });
  },
};
