/**
 * Steps most scenarios share, each through Ironic's public API as an operator would type them
 * with the `baremetal` CLI.
 */
import type { IronicNode } from '../ironic-client.ts';
import type { LabNodeInfo } from '../lab-client.ts';
import type { ScenarioContext } from '../scenario.ts';

/** `baremetal node create --driver ipmi ...` + `baremetal port create <mac> --node <uuid>`. */
export async function enrollIpmi(
  ctx: ScenarioContext,
  n: LabNodeInfo,
  o: { password?: string; inspect?: boolean } = {},
): Promise<IronicNode> {
  return enroll(ctx, n, { ...o, driver: 'ipmi' });
}

/**
 * Enrolls the node with the `ipmi` hardware type (in-band inspection through inspector) or the
 * `redfish` one (out-of-band inspection from the BMC's System resource), ipxe boot and direct
 * deploy either way, and a port per MAC.
 */
export async function enroll(
  ctx: ScenarioContext,
  n: LabNodeInfo,
  o: { driver: 'ipmi' | 'redfish'; password?: string; inspect?: boolean },
): Promise<IronicNode> {
  return ctx.step(n.name, 'enroll', async () => {
    const password = o.password ?? n.bmc.password;
    const images = {
      deploy_kernel: ctx.labInfo.images.deployKernel,
      deploy_ramdisk: ctx.labInfo.images.deployRamdisk,
    };
    let driverInfo: Record<string, unknown>;
    if (o.driver === 'redfish') {
      const rf = n.bmc.redfish;
      if (rf === null) throw new Error('the lab serves no Redfish for the redfish driver');
      driverInfo = {
        redfish_address: rf.url,
        redfish_system_id: rf.systemId,
        redfish_username: n.bmc.username,
        redfish_password: password,
        ...images,
      };
    } else {
      driverInfo = {
        ipmi_address: n.bmc.ipmi.address,
        ipmi_port: n.bmc.ipmi.port,
        ipmi_username: n.bmc.username,
        ipmi_password: password,
        ...images,
      };
    }
    const node = await ctx.ironic.createNode({
      name: n.name,
      driver: o.driver,
      boot_interface: 'ipxe',
      deploy_interface: 'direct',
      ...(o.inspect ? { inspect_interface: o.driver === 'redfish' ? 'redfish' : 'inspector' } : {}),
      driver_info: driverInfo,
    });
    for (const mac of n.macs) await ctx.ironic.createPort(mac, node.uuid);
    return node;
  });
}

export async function manage(ctx: ScenarioContext, n: LabNodeInfo, uuid: string): Promise<IronicNode> {
  return ctx.step(n.name, 'manage', async () => {
    await ctx.ironic.setProvisionState(uuid, 'manage');
    return ctx.waitForState(n.name, uuid, 'manageable', { failOn: ['enroll'] });
  });
}

export async function provide(ctx: ScenarioContext, n: LabNodeInfo, uuid: string): Promise<IronicNode> {
  return ctx.step(n.name, 'provide', async () => {
    await ctx.ironic.setProvisionState(uuid, 'provide');
    return ctx.waitForState(n.name, uuid, 'available', { failOn: ['clean failed'] });
  });
}

/** Sets instance_info to the lab's image (undeploy wipes it, so before every deploy) and deploys. */
export async function deploy(ctx: ScenarioContext, n: LabNodeInfo, uuid: string): Promise<IronicNode> {
  return ctx.step(n.name, 'deploy', async () => {
    const img = ctx.labInfo.images.image;
    await ctx.ironic.patchNode(uuid, [
      {
        op: 'add',
        path: '/instance_info',
        value: { image_source: img.url, image_checksum: img.md5, image_disk_format: 'raw' },
      },
    ]);
    await ctx.ironic.setProvisionState(uuid, 'active');
    return ctx.waitForState(n.name, uuid, 'active', { failOn: ['deploy failed'] });
  });
}

/** What the machine itself says it booted: the lab's view of its disk and run state. */
export async function verifyBootedImage(ctx: ScenarioContext, n: LabNodeInfo): Promise<void> {
  await ctx.step(n.name, 'verify the deployed image booted', async () => {
    const want = ctx.labInfo.images.image.sha256;
    let now = await ctx.lab.node(n.name);
    // Ironic reports active as soon as it has powered the machine on; the OS comes up after POST
    // (a real VM under software emulation takes seconds to tens of seconds, more on a busy host).
    const polls = now.backend === 'qemu' ? 2400 : 200;
    for (let i = 0; i < polls && now.runState !== 'os'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = await ctx.lab.node(n.name);
    }
    ctx.check(n.name, 'machine is on', now.power === 'on', `power is ${now.power}`);
    ctx.check(
      n.name,
      'booted from disk',
      now.lastBootDevice === 'disk',
      `last boot device: ${now.lastBootDevice}`,
    );
    ctx.check(
      n.name,
      'disk holds the image',
      now.disk?.checksum === `sha256:${want}`,
      `disk: ${now.disk?.checksum ?? 'empty'}`,
    );
    ctx.check(n.name, 'OS came up', now.runState === 'os', `run state: ${now.runState}`);
    const console = await ctx.lab.console(n.name);
    const line = console.text.split(/\r?\n/).find((l) => l.includes(want.slice(0, 12)));
    ctx.check(
      n.name,
      'console shows the image',
      line !== undefined,
      line === undefined ? 'the console does not show the deployed image booting' : `console: ${line.trim()}`,
    );
  });
}

export async function undeploy(ctx: ScenarioContext, n: LabNodeInfo, uuid: string): Promise<IronicNode> {
  return ctx.step(n.name, 'undeploy', async () => {
    await ctx.ironic.setProvisionState(uuid, 'deleted');
    return ctx.waitForState(n.name, uuid, 'available', { failOn: ['clean failed', 'error'] });
  });
}

/**
 * The node once its last_error is set. Real Ironic saves a failure state first and sets last_error
 * in the failure's callback a moment later (conductor utils `cleanup_after_timeout`, seen against
 * Ironic 21.4: `deploy failed` with last_error still null); the mock sets both at once.
 */
export async function withLastError(
  ctx: ScenarioContext,
  uuid: string,
  timeoutMs = 10_000,
): Promise<IronicNode> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const node = await ctx.ironic.getNode(uuid);
    if (node.last_error || Date.now() > end) return node;
    await new Promise((r) => setTimeout(r, ctx.timing.pollMs));
  }
}

/** Checks the provision states seen include `expected` in order (other states may come between). */
export function checkSequence(
  ctx: ScenarioContext,
  n: LabNodeInfo,
  seen: readonly string[],
  expected: readonly string[],
): void {
  let i = 0;
  for (const s of seen) if (s === expected[i]) i++;
  ctx.check(
    n.name,
    'provision-state sequence',
    i === expected.length,
    i === expected.length
      ? expected.join(' → ')
      : `expected ${expected.join(' → ')}, saw ${seen.join(' → ')}`,
  );
}
