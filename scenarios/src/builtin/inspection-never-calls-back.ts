/**
 * In-band inspection where the ramdisk never sends its data (hung collecting, or inspector not
 * reachable from the provisioning network): inspector times the introspection out after its
 * `[DEFAULT]timeout` and Ironic's inspector interface fails the node with inspector's message,
 * powers it off and removes the ramdisk boot files (reference inspector.md §7). The node can be
 * managed again afterwards.
 */
import type { Scenario } from '../scenario.ts';
import { checkSequence, enrollIpmi, manage, withLastError } from './common.ts';

const TIMEOUT_S = 20;

export const inspectionNeverCallsBack: Scenario = {
  name: 'inspection-never-calls-back',
  description: `the inspection ramdisk never calls back; inspector's ${TIMEOUT_S} s timeout ends in inspect failed`,
  defaultNodes: 1,
  needs: { inspectorTimeout: TIMEOUT_S },
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      const node = await enrollIpmi(ctx, n, { inspect: true });
      await manage(ctx, n, node.uuid);
      await ctx.lab.setFaults(n.name, { agentInspectionNeverCallsBack: true });
      ctx.note(n.name, 'fault: the inspection ramdisk never calls back');
      const failed = await ctx.step(n.name, 'inspect (expected to time out)', async () => {
        await ctx.ironic.setProvisionState(node.uuid, 'inspect');
        await ctx.waitForState(n.name, node.uuid, ['inspect failed', 'manageable'], {
          // inspector checks its timeout every clean_up_period; Ironic polls inspector every 5 s.
          timeoutMs: (TIMEOUT_S * 3 + 30) * 1000,
        });
        return withLastError(ctx, node.uuid);
      });
      ctx.check(
        n.name,
        'inspect failed',
        failed.provision_state === 'inspect failed',
        `provision state ${failed.provision_state}`,
      );
      ctx.check(
        n.name,
        "inspector's timeout message",
        failed.last_error === 'ironic-inspector inspection failed: Introspection timeout',
        `last_error: ${failed.last_error ?? '(none)'}`,
      );
      const lab = await ctx.lab.node(n.name);
      ctx.check(n.name, 'ramdisk was booted', lab.agent.boots >= 1, `agent boots: ${lab.agent.boots}`);
      // Ironic's clean-up powers the node off (the power-off may still be under way at the state change).
      let power = lab.power;
      for (let i = 0; i < 100 && power !== 'off'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        power = (await ctx.lab.node(n.name)).power;
      }
      ctx.check(n.name, 'powered off after the failure', power === 'off', `power is ${power}`);
      await ctx.lab.clearFaults(n.name);
      await manage(ctx, n, node.uuid);
      checkSequence(ctx, n, ctx.statesSeen(n.name), [
        'manageable',
        'inspecting',
        'inspect wait',
        'inspect failed',
        'manageable',
      ]);
    });
  },
};
