/**
 * The command API, driven as Ironic 21.4's agent client drives it (reference ironic.md §5): the
 * same requests (`POST /v1/commands/?wait=..&agent_token=..`, `GET /v1/commands/`), the same
 * bodies, and the result and error shapes real IPA 9.4 returns.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.ts';
import type { CommandResultJson } from './commands.ts';
import type { AgentFaults } from './faults.ts';
import { MemoryHost } from './host.ts';
import { type ImageFixture, IronicStub, serveImage } from './testing.ts';

const mac = '52:54:00:00:00:01';
const gib = 1024 ** 3;

// The node and ports dicts the conductor sends with steps (trimmed `node.as_dict(secure=True)`).
const node = {
  uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123',
  name: 'node-1',
  driver: 'ipmi',
  provision_state: 'wait call-back',
  properties: { cpu_arch: 'x86_64', cpus: 2, memory_mb: 4096, local_gb: 10 },
  instance_info: { image_source: 'http://127.0.0.1:8088/image.raw', image_disk_format: 'raw' },
  driver_internal_info: { deploy_steps: null, agent_url: 'http://127.0.0.1:19001' },
};
const ports = [
  { uuid: 'b6c1b1a4-8e8f-4d9a-9d0a-6b5c2f1e4a11', address: mac, node_uuid: node.uuid, pxe_enabled: true },
];

let ironic: IronicStub;
let image: ImageFixture;
let host: MemoryHost;
let agent: Agent;

async function boot(faults: AgentFaults = {}): Promise<void> {
  host = new MemoryHost({
    name: 'node-1',
    cpus: 2,
    memoryMiB: 4096,
    arch: 'x86_64',
    nics: [{ mac }],
    disks: [{ name: 'vda', sizeBytes: 20 * gib }],
  });
  agent = new Agent({
    cmdline: `ipa-api-url=${ironic.url} BOOTIF=01-52-54-00-00-00-01 ipa-global-request-id=req-abc`,
    host,
    faults,
    heartbeatIntervalMs: 60_000,
    image: { retries: 0, retryIntervalMs: 0 },
  });
  await agent.start();
  await agent.lookedUp;
}

beforeEach(async () => {
  ironic = await new IronicStub({ macs: [mac] }).start();
  image = await serveImage();
});

afterEach(async () => {
  await agent?.stop();
  await ironic.stop();
  await image.stop();
});

function post(name: string, params: unknown, opts: { wait?: boolean; token?: string | null } = {}) {
  const token = opts.token === undefined ? ironic.token : opts.token;
  const q = new URLSearchParams({ wait: String(opts.wait ?? true) });
  if (token !== null) q.set('agent_token', token);
  return agent.app.inject({
    method: 'POST',
    url: `/v1/commands/?${q}`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ name, params }),
  });
}

async function listCommands(): Promise<CommandResultJson[]> {
  const res = await agent.app.inject({ method: 'GET', url: '/v1/commands/' });
  expect(res.statusCode).toBe(200);
  return (res.json() as { commands: CommandResultJson[] }).commands;
}

/** Polls the command list as the conductor does on each heartbeat, until the last command is done. */
async function lastWhenDone(): Promise<CommandResultJson> {
  for (;;) {
    const last = (await listCommands()).at(-1)!;
    if (last.command_status !== 'RUNNING') return last;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const writeImageStep = (info: Record<string, unknown>) => ({
  step: {
    interface: 'deploy',
    step: 'write_image',
    args: {
      image_info: {
        id: 'a9b3b1f0-3c1d-4a2e-9d59-3f3d8a0c0b11',
        urls: [image.url],
        disk_format: 'raw',
        container_format: 'bare',
        stream_raw_images: true,
        node_uuid: node.uuid,
        ...info,
      },
      configdrive: null,
    },
    priority: 80,
  },
  node,
  ports,
  deploy_version: { generic_hardware_manager: '1.1' },
});

describe('deploy commands', () => {
  beforeEach(() => boot());

  it('get_deploy_steps answers with both required keys', async () => {
    const res = await post('deploy.get_deploy_steps', { node, ports });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json() as CommandResultJson;
    expect(Object.keys(body).sort()).toEqual(
      ['command_error', 'command_name', 'command_params', 'command_result', 'command_status', 'id'].sort(),
    );
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toMatchObject({
      command_name: 'get_deploy_steps',
      command_status: 'SUCCEEDED',
      command_error: null,
      command_result: {
        hardware_manager_version: { generic_hardware_manager: '1.1' },
        deploy_steps: {
          GenericHardwareManager: expect.arrayContaining([
            { step: 'write_image', priority: 0, interface: 'deploy', reboot_requested: false },
          ]),
        },
      },
    });
  });

  it('write_image answers RUNNING, then SUCCEEDED with deploy_result and deploy_step; the disk holds the image', async () => {
    // MBR disk signature at 440 becomes root uuid (disk_utils.get_disk_identifier).
    image.bytes.writeUInt32LE(0xdeadbeef, 440);
    const sha256 = createHash('sha256').update(image.bytes).digest('hex');
    const params = writeImageStep({ os_hash_algo: 'sha256', os_hash_value: sha256 });
    const res = await post('deploy.execute_deploy_step', params, { wait: false });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      command_name: 'execute_deploy_step',
      command_status: 'RUNNING',
      command_result: null,
    });

    const done = await lastWhenDone();
    expect(done).toMatchObject({
      command_status: 'SUCCEEDED',
      command_error: null,
      command_result: {
        deploy_result: {
          result:
            'prepare_image: image (a9b3b1f0-3c1d-4a2e-9d59-3f3d8a0c0b11) written to device /dev/vda root_uuid=0xdeadbeef',
        },
        deploy_step: params.step,
      },
    });
    expect(await host.diskChecksum('/dev/vda', 'sha256', image.bytes.length)).toBe(sha256);

    const uuids = await post('standby.get_partition_uuids', {});
    expect(uuids.json()).toMatchObject({
      command_status: 'SUCCEEDED',
      command_result: { 'root uuid': '0xdeadbeef' },
    });
  });

  it('verifies the legacy md5 checksum and a checksum given as a URL', async () => {
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }), { wait: true });
    expect((await lastWhenDone()).command_status).toBe('SUCCEEDED');
    await post(
      'deploy.execute_deploy_step',
      writeImageStep({ os_hash_algo: 'sha256', os_hash_value: `${image.url}.sha256sum` }),
    );
    expect((await lastWhenDone()).command_status).toBe('SUCCEEDED');
  });

  it('fails write_image with ImageChecksumError on a wrong checksum', async () => {
    await post(
      'deploy.execute_deploy_step',
      writeImageStep({ os_hash_algo: 'sha256', os_hash_value: '0'.repeat(64) }),
    );
    const done = await lastWhenDone();
    expect(done.command_status).toBe('FAILED');
    expect(done.command_error).toMatchObject({
      type: 'ImageChecksumError',
      code: 500,
      message: 'Error verifying image checksum',
    });
    expect(done.command_error?.details).toContain(`verification checksum: ${image.sha256}`);
  });

  it('fails write_image with InvalidCommandParamsError when no checksum is given', async () => {
    await post('deploy.execute_deploy_step', writeImageStep({}));
    expect((await lastWhenDone()).command_error).toMatchObject({
      type: 'InvalidCommandParamsError',
      code: 400,
      message: 'Invalid command parameters',
    });
  });

  it('reports an unknown step as HardwareManagerMethodNotFound and a stale version as a mismatch', async () => {
    await post('deploy.execute_deploy_step', {
      step: { interface: 'deploy', step: 'flash_bios' },
      node,
      ports,
    });
    expect((await lastWhenDone()).command_error).toEqual({
      type: 'HardwareManagerMethodNotFound',
      code: 500,
      message: 'No HardwareManager found to handle method',
      details: 'Could not find method: flash_bios',
    });
    await post('deploy.execute_deploy_step', {
      ...writeImageStep({ checksum: image.md5 }),
      deploy_version: { generic_hardware_manager: '1.0' },
    });
    const mismatch = await lastWhenDone();
    expect(mismatch.command_status).toBe('CLEAN_VERSION_MISMATCH');
    expect(mismatch.command_error).toMatchObject({ type: 'VersionMismatch', code: 409 });
  });

  it('standby.power_off succeeds, then the machine powers itself off and the agent stops', async () => {
    const res = await post('standby.power_off', {}, { wait: false });
    expect(res.json()).toMatchObject({ command_name: 'power_off', command_status: 'RUNNING' });
    for (let i = 0; i < 100 && host.powerOffs === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(host.powerOffs).toBe(1);
    expect(host.syncs).toBeGreaterThanOrEqual(1);
    expect(agent.stopped).toBe(true);
    expect(agent.commands.at(-1)?.status).toBe('SUCCEEDED');
  });

  it('standby.sync is synchronous; run_image reboots the machine', async () => {
    expect((await post('standby.sync', {})).json()).toMatchObject({
      command_name: 'sync',
      command_status: 'SUCCEEDED',
      command_result: null,
    });
    await post('standby.run_image', {}, { wait: false });
    for (let i = 0; i < 100 && host.reboots === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(host.reboots).toBe(1);
    expect(host.powerOffs).toBe(0);
  });

  it('image.install_bootloader succeeds once an image is on the disk', async () => {
    const params = {
      root_uuid: '0x00000000',
      efi_system_part_uuid: null,
      prep_boot_part_uuid: null,
      target_boot_mode: 'uefi',
    };
    await post('image.install_bootloader', params);
    expect((await lastWhenDone()).command_status).toBe('FAILED');
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }));
    await lastWhenDone();
    await post('image.install_bootloader', params);
    expect((await lastWhenDone()).command_status).toBe('SUCCEEDED');
  });

  it('log.collect_system_logs returns a base64 tar.gz that tar can list', async () => {
    const res = await post('log.collect_system_logs', {});
    const body = res.json() as CommandResultJson;
    expect(body.command_status).toBe('SUCCEEDED');
    const dir = mkdtempSync(join(tmpdir(), 'agent-logs-'));
    try {
      const file = join(dir, 'logs.tar.gz');
      writeFileSync(
        file,
        Buffer.from((body.command_result as { system_logs: string }).system_logs, 'base64'),
      );
      expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n').sort()).toEqual([
        'host.log',
        'ironic-python-agent.log',
      ]);
      const agentLog = execFileSync('tar', ['-xzOf', file, 'ironic-python-agent.log'], { encoding: 'utf8' });
      expect(agentLog).toContain(`Lookup succeeded, node UUID is ${node.uuid}`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('clean commands', () => {
  beforeEach(() => boot());

  it('get_clean_steps, then erase_devices_metadata (99) and erase_devices (10) really clear the disk', async () => {
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }));
    await lastWhenDone();
    const len = image.bytes.length;
    const zeros = createHash('sha256').update(Buffer.alloc(len)).digest('hex');
    expect(await host.diskChecksum('/dev/vda', 'sha256', len)).not.toBe(zeros);

    const steps = (await post('clean.get_clean_steps', { node, ports })).json() as CommandResultJson;
    const offered = (
      steps.command_result as {
        clean_steps: { GenericHardwareManager: { step: string; priority: number }[] };
      }
    ).clean_steps.GenericHardwareManager;
    expect(offered).toContainEqual(
      expect.objectContaining({ step: 'erase_devices_metadata', priority: 99, abortable: true }),
    );
    expect(offered).toContainEqual(expect.objectContaining({ step: 'erase_devices', priority: 10 }));

    const metaStep = {
      interface: 'deploy',
      step: 'erase_devices_metadata',
      priority: 99,
      abortable: true,
      args: {},
    };
    await post(
      'clean.execute_clean_step',
      { step: metaStep, node, ports, clean_version: { generic_hardware_manager: '1.1' } },
      { wait: false },
    );
    expect(await lastWhenDone()).toMatchObject({
      command_name: 'execute_clean_step',
      command_status: 'SUCCEEDED',
      command_result: { clean_result: null, clean_step: metaStep },
    });
    // Metadata erase zeroes the head (the 256 KiB image lies inside the first MiB).
    expect(await host.diskChecksum('/dev/vda', 'sha256', len)).toBe(zeros);

    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }));
    await lastWhenDone();
    const fullStep = { interface: 'deploy', step: 'erase_devices', priority: 10, abortable: true, args: {} };
    await post('clean.execute_clean_step', {
      step: fullStep,
      node,
      ports,
      clean_version: { generic_hardware_manager: '1.1' },
    });
    expect(await lastWhenDone()).toMatchObject({
      command_status: 'SUCCEEDED',
      command_result: { clean_result: { '/dev/vda': null }, clean_step: fullStep },
    });
    expect(host.diskContent('vda').length).toBe(0);
  });
});

describe('errors as IPA returns them', () => {
  beforeEach(() => boot());

  it('401 for a wrong or missing token once Ironic requires one', async () => {
    for (const token of ['wrong', null]) {
      const res = await post('standby.sync', {}, { token });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ faultcode: 'Client', faultstring: '401 Unauthorized: Token invalid.' });
    }
    expect(agent.commands).toHaveLength(0);
  });

  it('400 for an unknown command, 404 for an unknown extension, 400 for a name without a dot', async () => {
    expect((await post('deploy.nope', {})).json()).toEqual({
      faultcode: 'Client',
      faultstring: 'Invalid command: Unknown command: nope',
    });
    const ext = await post('bogus.thing', {});
    expect(ext.statusCode).toBe(404);
    expect(ext.json()).toEqual({
      faultcode: 'Client',
      faultstring: 'Not found: Extension with id bogus not found.',
    });
    const nodot = await post('nodot', {});
    expect(nodot.statusCode).toBe(400);
    expect(nodot.json().faultstring).toBe(
      'Invalid command: Command name must be of the form <extension>.<name>',
    );
  });

  it('400 for a body without name or params, before the token is checked', async () => {
    const res = await agent.app.inject({
      method: 'POST',
      url: '/v1/commands/?wait=true',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ name: 'standby.sync' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      faultcode: 'Client',
      faultstring: '400 Bad Request: Missing or invalid name or params',
    });
  });

  it('404 for an unknown command id and an unknown path, 405 for a wrong method', async () => {
    const id = await agent.app.inject({ method: 'GET', url: '/v1/commands/0000' });
    expect(id.statusCode).toBe(404);
    expect(id.json()).toEqual({
      faultcode: 'Client',
      faultstring: 'Not found: Command Result with id 0000 not found.',
    });
    expect((await agent.app.inject({ method: 'GET', url: '/v2/x' })).statusCode).toBe(404);
    expect((await agent.app.inject({ method: 'DELETE', url: '/v1/commands/' })).statusCode).toBe(405);
  });

  it('a Python TypeError for a missing keyword argument', async () => {
    const res = (await post('deploy.get_deploy_steps', { node })).json() as CommandResultJson;
    expect(res.command_status).toBe('FAILED');
    expect(res.command_error).toEqual({
      type: 'TypeError',
      code: 500,
      message: "get_deploy_steps() missing 1 required positional argument: 'ports'",
      details: '',
    });
  });

  it('GET /v1/status, / and /v1/ describe the agent', async () => {
    const status = (await agent.app.inject({ method: 'GET', url: '/v1/status' })).json();
    expect(status.version).toBe('9.4.1');
    expect(typeof status.started_at).toBe('number');
    const root = (await agent.app.inject({ method: 'GET', url: '/' })).json();
    expect(root.name).toBe('OpenStack Ironic Python Agent API');
    expect(root.default_version.id).toBe('v1');
    const v1 = (await agent.app.inject({ method: 'GET', url: '/v1/' })).json();
    expect(v1.media_types[0].type).toBe('application/vnd.openstack.ironic-python-agent.v1+json');
  });
});

describe('busy agent and faults', () => {
  it('409 while an async command runs (slow write fault)', async () => {
    await boot({ writeDelayMs: 300 });
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }), { wait: false });
    const busy = await post('standby.sync', {});
    expect(busy.statusCode).toBe(409);
    expect(busy.json()).toEqual({
      faultcode: 'Client',
      faultstring: 'Agent is busy: executing command execute_deploy_step',
    });
    expect((await lastWhenDone()).command_status).toBe('SUCCEEDED');
  });

  it('slow write fault: a throughput cap stretches write_image', async () => {
    // 256 KiB at 1 MiB/s: at least a quarter of a second.
    await boot({ writeBytesPerSecond: 1024 * 1024 });
    const t0 = Date.now();
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }), { wait: true });
    expect((await lastWhenDone()).command_status).toBe('SUCCEEDED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it('a named step fails as a DeploymentError; a named command fails as CommandExecutionError', async () => {
    await boot({ failCommands: ['write_image', 'standby.get_partition_uuids'] });
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }));
    expect((await lastWhenDone()).command_error).toMatchObject({
      type: 'DeploymentError',
      message: 'Deploy step failed',
    });
    expect(image.gets()).toBe(0);
    expect((await post('standby.get_partition_uuids', {})).json()).toMatchObject({
      command_status: 'FAILED',
      command_error: { type: 'CommandExecutionError' },
    });
  });

  it('corrupt download: the checksum catches it; corrupt disk: success reported, disk differs', async () => {
    await boot({ corruptWrite: 'download' });
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }));
    expect((await lastWhenDone()).command_error?.type).toBe('ImageChecksumError');
    await agent.stop();
    await ironic.stop();

    ironic = await new IronicStub({ macs: [mac] }).start();
    await boot({ corruptWrite: 'disk' });
    await post('deploy.execute_deploy_step', writeImageStep({ checksum: image.md5 }));
    expect((await lastWhenDone()).command_status).toBe('SUCCEEDED');
    expect(await host.diskChecksum('/dev/vda', 'md5', image.bytes.length)).not.toBe(image.md5);
  });
});
