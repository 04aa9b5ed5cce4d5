/**
 * The path every deploy walks (DESIGN.md): enroll with IPMI driver info and ports, manage,
 * inspect — in-band with `ipmi` (the agent's inventory through the inspector interface), out-of-band
 * with `redfish` (the BMC's System resource) — provide, deploy an image, check the machine booted it
 * from its disk, undeploy, and be available again.
 */
import type { Scenario } from '../scenario.ts';
import { checkSequence, deploy, enroll, manage, provide, undeploy, verifyBootedImage } from './common.ts';

export const enrollInspectDeploy: Scenario = {
  name: 'enroll-inspect-deploy',
  description: 'enroll → manage → inspect → provide → deploy → booted from disk → undeploy → available',
  defaultNodes: 8,
  options: {
    driver: {
      description: 'the hardware type: ipmi (in-band inspection) or redfish (out-of-band)',
      values: ['ipmi', 'redfish'],
      default: 'ipmi',
    },
  },
  async run(ctx) {
    const driver = ctx.options['driver'] === 'redfish' ? 'redfish' : 'ipmi';
    await ctx.forEachNode(async (n) => {
      const node = await enroll(ctx, n, { driver, inspect: true });
      const managed = await manage(ctx, n, node.uuid);
      // node_cache_vendor: verifying the node reads the BMC's manufacturer (ipmi: `mc info`; redfish:
      // the System's Manufacturer) into properties.vendor.
      const vendor = managed.properties['vendor'];
      ctx.check(
        n.name,
        'vendor detected',
        typeof vendor === 'string' && vendor !== '',
        `vendor ${String(vendor)}`,
      );
      const inspected = await ctx.step(n.name, 'inspect', async () => {
        await ctx.ironic.setProvisionState(node.uuid, 'inspect');
        return ctx.waitForState(n.name, node.uuid, 'manageable', { failOn: ['inspect failed'] });
      });
      const p = inspected.properties as {
        cpus?: unknown;
        memory_mb?: unknown;
        local_gb?: unknown;
        cpu_arch?: unknown;
      };
      const diskGb = Math.floor((n.spec.disks[0]?.sizeBytes ?? 0) / 1024 ** 3) - 1;
      ctx.check(
        n.name,
        'inspected cpus',
        Number(p.cpus) === n.spec.cpus,
        `cpus ${String(p.cpus)}, spec ${n.spec.cpus}`,
      );
      ctx.check(
        n.name,
        'inspected memory',
        Number(p.memory_mb) === n.spec.memoryMiB,
        `memory_mb ${String(p.memory_mb)}, spec ${n.spec.memoryMiB}`,
      );
      ctx.check(
        n.name,
        'inspected disk',
        Number(p.local_gb) === diskGb,
        `local_gb ${String(p.local_gb)}, spec ${diskGb}`,
      );
      ctx.check(n.name, 'inspected arch', p.cpu_arch === n.spec.arch, `cpu_arch ${String(p.cpu_arch)}`);
      await provide(ctx, n, node.uuid);
      await deploy(ctx, n, node.uuid);
      await verifyBootedImage(ctx, n);
      await undeploy(ctx, n, node.uuid);
      const end = await ctx.lab.node(n.name);
      ctx.check(n.name, 'powered off after undeploy', end.power === 'off', `power is ${end.power}`);
      const seen = await ctx.ironic.getNode(node.uuid);
      ctx.check(n.name, 'available again', seen.provision_state === 'available', seen.provision_state);
      checkSequence(ctx, n, ctx.statesSeen(n.name), [
        'manageable',
        'inspecting',
        'manageable',
        'available',
        'active',
        'available',
      ]);
    });
  },
};
