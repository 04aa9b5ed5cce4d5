/**
 * A node enrolled with the wrong BMC password: manage must fail the way Ironic fails it — the
 * node goes back to enroll with an IPMI error in last_error — and the BMC must have refused
 * every session (no power state was read).
 */
import type { Scenario } from '../scenario.ts';
import { enrollIpmi } from './common.ts';

export const wrongBmcCredentials: Scenario = {
  name: 'wrong-bmc-credentials',
  description: 'manage with a wrong BMC password fails back to enroll with the IPMI error',
  defaultNodes: 2,
  needs: { ipmiRetryTimeout: 3 },
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      const node = await enrollIpmi(ctx, n, { password: 'not-the-password' });
      const after = await ctx.step(n.name, 'manage (expected to fail)', async () => {
        await ctx.ironic.setProvisionState(node.uuid, 'manage');
        return ctx.waitForState(n.name, node.uuid, ['enroll', 'manageable']);
      });
      ctx.check(
        n.name,
        'back in enroll',
        after.provision_state === 'enroll',
        `provision state ${after.provision_state}`,
      );
      ctx.check(
        n.name,
        'last_error names the IPMI failure',
        /ipmi|power|credentials|session/i.test(after.last_error ?? ''),
        `last_error: ${after.last_error ?? '(none)'}`,
      );
      const lab = await ctx.lab.node(n.name);
      ctx.check(n.name, 'machine untouched', lab.power === 'off', `power is ${lab.power}`);
      ctx.check(
        n.name,
        'no command got through',
        lab.ipmiCommands === 0 || (await noSessionCommands(ctx, n.name)),
        'commands were answered inside a session',
      );
    });
  },
};

/** Only pre-session commands (auth capabilities, cipher suites) may appear in the trace. */
async function noSessionCommands(ctx: Parameters<Scenario['run']>[0], node: string): Promise<boolean> {
  const events = await ctx.lab.events(0, node);
  return events
    .filter((e) => e.kind === 'ipmi')
    .every((e) => /getChannelAuthCapabilities|getChannelCipherSuites/.test(e.label));
}
