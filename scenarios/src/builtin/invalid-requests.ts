/**
 * The requests an operator gets wrong, and how Ironic refuses them: an unknown hardware type, a
 * duplicate name or MAC, a provision action the state does not allow, an unknown action, a read-only
 * field, a node that does not exist. Each must be refused with a 4xx and leave the node as it was;
 * the fidelity comparison holds the mock to real Ironic's exact status codes.
 */
import { IronicApiError } from '../ironic-client.ts';
import type { LabNodeInfo } from '../lab-client.ts';
import type { Scenario, ScenarioContext } from '../scenario.ts';
import { enrollIpmi, manage } from './common.ts';

/** Runs a request that must be refused; records the check with the status and Ironic's message. */
async function refused(ctx: ScenarioContext, n: LabNodeInfo, what: string, fn: () => Promise<unknown>) {
  let status = 0;
  let message = 'accepted';
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof IronicApiError)) throw err;
    status = err.status;
    message = err.faultstring;
  }
  ctx.check(
    n.name,
    `refused: ${what}`,
    status >= 400 && status < 500,
    `HTTP ${status || 'none'}: ${message}`,
  );
}

export const invalidRequests: Scenario = {
  name: 'invalid-requests',
  description: 'wrong requests are refused with the status codes Ironic uses, and change nothing',
  defaultNodes: 1,
  async run(ctx) {
    await ctx.forEachNode(async (n) => {
      await ctx.step(n.name, 'refused before enroll', async () => {
        await refused(ctx, n, 'unknown hardware type', () =>
          ctx.ironic.createNode({ name: `${n.name}-x`, driver: 'no-such-hardware-type' }),
        );
        await refused(ctx, n, 'a node that does not exist', () => ctx.ironic.getNode(`${n.name}-missing`));
      });
      const node = await enrollIpmi(ctx, n);
      await ctx.step(n.name, 'refused in enroll', async () => {
        await refused(ctx, n, 'a second node with the same name', () =>
          ctx.ironic.createNode({ name: n.name, driver: 'ipmi' }),
        );
        const mac = n.macs[0];
        if (mac !== undefined)
          await refused(ctx, n, 'a second port with the same MAC', () =>
            ctx.ironic.createPort(mac, node.uuid),
          );
        await refused(ctx, n, 'deploy from enroll', () => ctx.ironic.setProvisionState(node.uuid, 'active'));
        await refused(ctx, n, 'inspect from enroll', () =>
          ctx.ironic.setProvisionState(node.uuid, 'inspect'),
        );
        await refused(ctx, n, 'an unknown provision action', () =>
          ctx.ironic.setProvisionState(node.uuid, 'no-such-action'),
        );
        await refused(ctx, n, 'patching the provision state', () =>
          ctx.ironic.patchNode(node.uuid, [{ op: 'replace', path: '/provision_state', value: 'active' }]),
        );
      });
      await manage(ctx, n, node.uuid);
      await ctx.step(n.name, 'refused in manageable', async () => {
        await refused(ctx, n, 'deploy from manageable', () =>
          ctx.ironic.setProvisionState(node.uuid, 'active'),
        );
        await refused(ctx, n, 'manage again', () => ctx.ironic.setProvisionState(node.uuid, 'manage'));
      });
      const after = await ctx.ironic.getNode(node.uuid);
      ctx.check(
        n.name,
        'still manageable',
        after.provision_state === 'manageable' && !after.target_provision_state,
        `${after.provision_state} → ${after.target_provision_state ?? '(none)'}`,
      );
    });
  },
};
