import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MockIronic } from '../server.ts';
import { FakeBmc } from '../testing/fake-bmc.ts';
import { serveImage } from '../testing/image-server.ts';
import { MiniAgent } from '../testing/mini-agent.ts';

const ready = existsSync('/usr/bin/ipmitool') && existsSync('/usr/lib/python3/dist-packages/pyghmi');
const V = { 'X-OpenStack-Ironic-API-Version': '1.82', 'Content-Type': 'application/json' };
const MAC = '52:54:00:00:00:31';

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/**
 * A restart while the node waits for the agent (wait call-back) loses nothing: the new process
 * finds agent URL, token and step index in its DB, and the agent's next heartbeat carries the deploy
 * on to active, as with Ironic's conductor takeover.
 */
describe.skipIf(!ready)('restart in the middle of a deploy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mock-ironic-resume-'));
  const agents: MiniAgent[] = [];
  let bmc: FakeBmc | undefined;
  let ironic: MockIronic | undefined;
  let image: Awaited<ReturnType<typeof serveImage>> | undefined;

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await ironic?.stop();
    await bmc?.stop();
    await image?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes on the next heartbeat after the mock restarts', async () => {
    writeFileSync(join(dir, 'kernel'), 'k');
    const port = await freeTcpPort();
    const make = () =>
      new MockIronic({
        port,
        stateDir: join(dir, 'state'),
        conductor: {
          ipmi: { minCommandInterval: 0.05, commandRetryTimeout: 10 },
          syncPowerStateInterval: 0,
          automatedClean: false,
          postDeployGetPowerStateRetryInterval: 0.1,
        },
      });
    bmc = await FakeBmc.start();
    image = await serveImage();
    const imageUrl = image.url;
    const theBmc = bmc;
    ironic = make();
    await ironic.start();
    const url = ironic.url;
    theBmc.onEvent((e) => {
      if (e.event === 'power' && e.state === 'on' && e.bootdev === 'network') {
        const a = new MiniAgent({
          ironicUrl: url,
          mac: MAC,
          heartbeatMs: 100,
          stepMs: 1500,
          powerOff: () => theBmc.powerOffFromInside(),
        });
        agents.push(a);
        void a.start();
      } else if (e.event === 'power' && e.state === 'off') {
        for (const a of agents) void a.stop();
      }
    });
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: V,
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return text ? JSON.parse(text) : null;
    };
    const until = async (pred: (n: Record<string, unknown>) => boolean) => {
      const end = Date.now() + 20_000;
      for (;;) {
        const n = (await api('GET', '/v1/nodes/r0')) as Record<string, unknown>;
        if (pred(n)) return n;
        if (Date.now() > end)
          throw new Error(`stuck in ${String(n['provision_state'])}: ${String(n['last_error'])}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    const node = await api('POST', '/v1/nodes', {
      driver: 'ipmi',
      name: 'r0',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: theBmc.port,
        ipmi_username: 'admin',
        ipmi_password: 'password',
        deploy_kernel: pathToFileURL(join(dir, 'kernel')).href,
        deploy_ramdisk: pathToFileURL(join(dir, 'kernel')).href,
      },
      instance_info: { image_source: imageUrl, image_checksum: 'd'.repeat(32) },
    });
    await api('POST', '/v1/ports', { address: MAC, node_uuid: node.uuid });
    await api('PUT', '/v1/nodes/r0/states/provision', { target: 'manage' });
    await until((n) => n['provision_state'] === 'manageable' && n['reservation'] === null);
    await api('PUT', '/v1/nodes/r0/states/provision', { target: 'provide' });
    await until((n) => n['provision_state'] === 'available' && n['reservation'] === null);
    await api('PUT', '/v1/nodes/r0/states/provision', { target: 'active' });
    // write_image is running on the agent (1.5 s): the node waits for the call-back.
    await until(
      (n) =>
        n['provision_state'] === 'wait call-back' &&
        (n['deploy_step'] as { step?: string }).step === 'write_image' &&
        n['reservation'] === null,
    );

    await ironic.stop();
    ironic = make();
    await ironic.start();
    const resumed = await until((n) => n['provision_state'] === 'active' && n['reservation'] === null);
    expect(resumed['last_error']).toBeNull();
    expect(resumed['power_state']).toBe('power on');
    expect(agents[0]!.received).toEqual([
      'deploy.get_deploy_steps',
      'deploy.execute_deploy_step',
      'standby.get_partition_uuids',
      'standby.power_off',
    ]);
  }, 60_000);
});
