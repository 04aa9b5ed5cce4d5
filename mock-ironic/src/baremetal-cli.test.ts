import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockIronic } from './server.ts';
import { FakeBmc } from './testing/fake-bmc.ts';
import { serveImage } from './testing/image-server.ts';
import { MiniAgent } from './testing/mini-agent.ts';

const BAREMETAL = '/usr/bin/baremetal';
const ready =
  existsSync(BAREMETAL) &&
  existsSync('/usr/bin/ipmitool') &&
  existsSync('/usr/lib/python3/dist-packages/pyghmi');
const MAC = '52:54:00:00:00:21';

/**
 * The real `baremetal` CLI (Debian's python3-ironicclient) scripted against the mock, with a real
 * BMC behind the node. One sequence only: each CLI call costs ~0.7 s of Python start-up.
 */
describe.skipIf(!ready)('baremetal CLI against mock Ironic', () => {
  let dir: string;
  let bmc: FakeBmc;
  let ironic: MockIronic;
  const agents: MiniAgent[] = [];
  let image: Awaited<ReturnType<typeof serveImage>>;

  const cli = (...args: string[]) =>
    execa(BAREMETAL, args, {
      reject: false,
      env: { OS_AUTH_TYPE: 'none', OS_ENDPOINT: ironic.url, OS_BAREMETAL_API_VERSION: '1.82' },
    });

  const node = async (): Promise<Record<string, unknown>> => {
    const res = await fetch(`${ironic.url}/v1/nodes/cli-0`, {
      headers: { 'X-OpenStack-Ironic-API-Version': '1.82' },
    });
    return (await res.json()) as Record<string, unknown>;
  };

  const until = async (field: string, want: string) => {
    const end = Date.now() + 20_000;
    for (;;) {
      const n = await node();
      if (n[field] === want && n['reservation'] === null) return n;
      if (Date.now() > end)
        throw new Error(`${field} is ${String(n[field])}, last_error ${String(n['last_error'])}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mock-ironic-cli-'));
    writeFileSync(join(dir, 'kernel'), 'k');
    writeFileSync(join(dir, 'ramdisk'), 'r');
    bmc = await FakeBmc.start();
    image = await serveImage();
    ironic = new MockIronic({
      port: 0,
      stateDir: join(dir, 'state'),
      conductor: {
        ipmi: { minCommandInterval: 0.05, commandRetryTimeout: 10 },
        syncPowerStateInterval: 0,
        automatedClean: false,
        postDeployGetPowerStateRetryInterval: 0.1,
      },
    });
    await ironic.start();
    let agent: MiniAgent | undefined;
    bmc.onEvent((e) => {
      if (e.event !== 'power') return;
      if (e.state === 'on' && e.bootdev === 'network') {
        agent = new MiniAgent({
          ironicUrl: ironic.url,
          mac: MAC,
          heartbeatMs: 100,
          stepMs: 100,
          powerOff: () => bmc.powerOffFromInside(),
        });
        agents.push(agent);
        void agent.start();
      } else if (e.state === 'off' && agent) {
        void agent.stop();
        agent = undefined;
      }
    });
  });

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await ironic?.stop();
    await bmc?.stop();
    await image?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, manages, provides, deploys and undeploys a node; creates and lists ports', async () => {
    const created = await cli(
      'node',
      'create',
      '--driver',
      'ipmi',
      '--name',
      'cli-0',
      '--driver-info',
      'ipmi_address=127.0.0.1',
      '--driver-info',
      `ipmi_port=${bmc.port}`,
      '--driver-info',
      'ipmi_username=admin',
      '--driver-info',
      'ipmi_password=password',
      '--driver-info',
      `deploy_kernel=${pathToFileURL(join(dir, 'kernel')).href}`,
      '--driver-info',
      `deploy_ramdisk=${pathToFileURL(join(dir, 'ramdisk')).href}`,
      '--property',
      'cpus=2',
      '-f',
      'json',
    );
    expect(created.exitCode, created.stderr).toBe(0);
    const uuid = (JSON.parse(created.stdout) as { uuid: string; provision_state: string }).uuid;
    expect(JSON.parse(created.stdout).provision_state).toBe('enroll');
    expect(JSON.parse(created.stdout).driver_info.ipmi_password).toBe('******');

    const byName = await cli('port', 'create', MAC, '--node', 'cli-0');
    expect(byName.exitCode).not.toBe(0);
    expect(byName.stderr).toContain('Expected UUID for node_uuid: cli-0 (HTTP 400)');
    expect((await cli('port', 'create', MAC, '--node', uuid)).exitCode).toBe(0);
    const ports = await cli('port', 'list', '--node', 'cli-0', '-f', 'json');
    expect(JSON.parse(ports.stdout)).toEqual([expect.objectContaining({ Address: MAC })]);

    const manage = await cli('node', 'manage', 'cli-0', '--wait', '30');
    expect(manage.exitCode, manage.stderr).toBe(0);
    expect((await node())['provision_state']).toBe('manageable');

    const refused = await cli('node', 'deploy', 'cli-0');
    expect(refused.stderr).toContain(
      `The requested action "active" can not be performed on node "${uuid}" while it is in state "manageable". (HTTP 400)`,
    );

    expect((await cli('node', 'provide', 'cli-0')).exitCode).toBe(0);
    await until('provision_state', 'available');

    const set = await cli(
      'node',
      'set',
      'cli-0',
      '--instance-info',
      `image_source=${image.url}`,
      '--instance-info',
      `image_checksum=${'b'.repeat(32)}`,
    );
    expect(set.exitCode, set.stderr).toBe(0);

    expect((await cli('node', 'boot', 'device', 'set', 'cli-0', 'disk', '--persistent')).exitCode).toBe(0);
    expect(bmc.events.at(-1)).toEqual({ event: 'bootdev', bootdev: 'hd' });

    expect((await cli('node', 'power', 'on', 'cli-0')).exitCode).toBe(0);
    await until('power_state', 'power on');
    expect((await cli('node', 'power', 'off', 'cli-0')).exitCode).toBe(0);
    await until('power_state', 'power off');

    expect((await cli('node', 'deploy', 'cli-0')).exitCode).toBe(0);
    await until('provision_state', 'active');
    const list = await cli('node', 'list', '-f', 'json');
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ Name: 'cli-0', 'Provisioning State': 'active', 'Power State': 'power on' }),
    ]);

    expect((await cli('node', 'undeploy', 'cli-0')).exitCode).toBe(0);
    const done = await until('provision_state', 'available');
    expect(done['instance_info']).toEqual({});
    const show = await cli(
      'node',
      'show',
      'cli-0',
      '-f',
      'value',
      '-c',
      'provision_state',
      '-c',
      'power_state',
    );
    expect(show.stdout.split('\n')).toEqual(['power off', 'available']);
  }, 90_000);
});
