import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockIronic } from '../server.ts';
import { FakeBmc } from '../testing/fake-bmc.ts';
import { serveImage } from '../testing/image-server.ts';
import { MiniAgent } from '../testing/mini-agent.ts';

const hasIpmitool = existsSync('/usr/bin/ipmitool') && existsSync('/usr/lib/python3/dist-packages/pyghmi');
const V = { 'X-OpenStack-Ironic-API-Version': '1.82', 'Content-Type': 'application/json' };
const MAC = '52:54:00:00:00:01';

describe.skipIf(!hasIpmitool)('conductor against a real BMC (pyghmi) through ipmitool', () => {
  let dir: string;
  let bmc: FakeBmc;
  let ironic: MockIronic;
  let agent: MiniAgent | undefined;
  const agents: MiniAgent[] = [];
  const states: string[] = [];
  let configSeen = '';
  let image: Awaited<ReturnType<typeof serveImage>>;
  let linkSeen = '';

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${ironic.url}${path}`, {
      method,
      headers: V,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  /** Polls the node like a client and records each provision state it passes through. */
  const waitFor = async (uuid: string, want: string, timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/v1/nodes/${uuid}`);
      if (states[states.length - 1] !== body.provision_state) states.push(body.provision_state);
      if (body.provision_state === want && body.reservation === null) return body;
      if (Date.now() > end) throw new Error(`node stuck in ${body.provision_state}: ${body.last_error}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mock-ironic-conductor-'));
    writeFileSync(join(dir, 'kernel'), 'k');
    writeFileSync(join(dir, 'ramdisk'), 'r');
    bmc = await FakeBmc.start();
    image = await serveImage();
    ironic = new MockIronic({
      port: 0,
      stateDir: join(dir, 'state'),
      httpRoot: join(dir, 'httpboot'),
      conductor: {
        ipmi: { minCommandInterval: 0.05, commandRetryTimeout: 10 },
        syncPowerStateInterval: 0,
        checkProvisionStateInterval: 0,
        automatedClean: false,
        postDeployGetPowerStateRetryInterval: 0.1,
        powerStateChangeTimeout: 5,
      },
    });
    await ironic.start();
    // The "machine": boots the agent when powered on with PXE as boot device, stops it on power off.
    bmc.onEvent((e) => {
      if (e.event !== 'power') return;
      if (e.state === 'on' && e.bootdev === 'network') {
        const uuidDir = join(dir, 'httpboot', 'pxelinux.cfg', MAC.replaceAll(':', '-'));
        if (existsSync(uuidDir)) {
          configSeen = readFileSync(uuidDir, 'utf8');
          linkSeen = readlinkSync(uuidDir);
        }
        const callback = /ipa-inspection-callback-url=(\S+)/.exec(configSeen)?.[1];
        agent = new MiniAgent({
          ironicUrl: ironic.url,
          mac: MAC,
          heartbeatMs: 100,
          stepMs: 150,
          powerOff: () => bmc.powerOffFromInside(),
          ...(callback ? { inspectionCallbackUrl: callback } : {}),
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

  it('enrolls, manages, provides, deploys and undeploys with the ipmitool lines of real Ironic', async () => {
    const created = await api('POST', '/v1/nodes', {
      driver: 'ipmi',
      name: 'n0',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: bmc.port,
        ipmi_username: 'admin',
        ipmi_password: 'password',
        deploy_kernel: pathToFileURL(join(dir, 'kernel')).href,
        deploy_ramdisk: pathToFileURL(join(dir, 'ramdisk')).href,
      },
      properties: { cpu_arch: 'x86_64', cpus: 2, memory_mb: 4096, local_gb: 10 },
    });
    expect(created.status).toBe(201);
    const uuid = created.body.uuid as string;
    expect((await api('POST', '/v1/ports', { address: MAC, node_uuid: uuid })).status).toBe(201);
    states.push('enroll');

    // manage: verifying runs `power status` and `mc info`.
    expect((await api('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'manage' })).status).toBe(202);
    const managed = await waitFor(uuid, 'manageable');
    expect(managed.power_state).toBe('power off');
    const argv0 = ironic.conductor.ipmi.calls[0]!.argv;
    expect(argv0.slice(0, 14)).toEqual([
      '-I',
      'lanplus',
      '-H',
      '127.0.0.1',
      '-L',
      'ADMINISTRATOR',
      '-p',
      String(bmc.port),
      '-U',
      'admin',
      '-R',
      '1',
      '-N',
      '1',
    ]);
    expect(argv0[14]).toBe('-f');
    expect(argv0.slice(16)).toEqual(['power', 'status']);
    const cmds = () => ironic.conductor.ipmi.calls.map((c) => c.argv.slice(16).join(' '));
    expect(cmds()).toEqual(['power status', 'mc info']);

    // In-band inspection: the agent posts its inventory to the inspector callback on its kernel line.
    await api('PATCH', `/v1/nodes/${uuid}`, [
      { op: 'replace', path: '/inspect_interface', value: 'inspector' },
    ]);
    expect((await api('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'inspect' })).status).toBe(202);
    const inspected = await waitFor(uuid, 'manageable');
    expect(configSeen).toContain(`ipa-inspection-callback-url=${ironic.url}/v1/continue`);
    // `vendor` is node_cache_vendor's, from `mc info` at manage time: the BMC's manufacturer id is 0.
    expect(inspected.properties).toEqual({
      cpu_arch: 'x86_64',
      cpus: 4,
      memory_mb: 8192,
      local_gb: 20,
      vendor: 'unknown',
    });
    expect(inspected.power_state).toBe('power off');
    expect(inspected.inspection_finished_at).not.toBeNull();
    expect(agents).toHaveLength(1);
    // What real Ironic 21.4 + inspector 11.1 run for one in-band inspection (npm run bench:ironic):
    // Ironic boots the ramdisk, inspector powers the node off through Ironic's power API once the
    // inventory is in, and Ironic's clean-up finds it off.
    const inspectCmds = [
      'power status', // power off only when on
      'raw 0x00 0x08 0x03 0x08',
      'chassis bootdev pxe',
      'power status', // power on ...
      'power on',
      '(?:power status \\| )*power status', // ... and wait for it
      'power status', // inspector's power off
      'power off',
      '(?:power status \\| )*power status',
      'power status', // Ironic's clean-up: already off
    ];
    expect(cmds().slice(2).join(' | ')).toMatch(new RegExp(`^${inspectCmds.join(' \\| ')}$`));

    expect((await api('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'provide' })).status).toBe(202);
    await waitFor(uuid, 'available');

    const patched = await api('PATCH', `/v1/nodes/${uuid}`, [
      { op: 'add', path: '/instance_info/image_source', value: image.url },
      { op: 'add', path: '/instance_info/image_checksum', value: 'a'.repeat(32) },
      { op: 'add', path: '/instance_info/image_disk_format', value: 'raw' },
    ]);
    expect(patched.status).toBe(200);

    const before = cmds().length;
    expect((await api('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'active' })).status).toBe(202);
    const active = await waitFor(uuid, 'active');
    expect(active.power_state).toBe('power on');
    expect(active.deploy_step).toEqual({});
    expect(active.driver_internal_info.agent_secret_token).toBeUndefined();

    // The boot script the machine network-booted from (ipxe interface, reference §5).
    expect(linkSeen).toBe(`../${uuid}/config`);
    expect(configSeen).toContain(`kernel http://127.0.0.1:8088/${uuid}/deploy_kernel`);
    expect(configSeen).toContain(`ipa-api-url=${ironic.url}`);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own ${mac} variable
    expect(configSeen).toContain('BOOTIF=${mac}');
    expect(existsSync(join(dir, 'httpboot', 'boot.ipxe'))).toBe(true);
    // Local boot needs no PXE config: removed by prepare_instance_boot.
    expect(existsSync(join(dir, 'httpboot', 'pxelinux.cfg', '52-54-00-00-00-01'))).toBe(false);

    const deployCmds = cmds().slice(before).join(' | ');
    const expected = [
      'power status', // prepare: power off only when on
      'raw 0x00 0x08 0x03 0x08', // disable the boot-flag timeout
      'chassis bootdev pxe',
      'power status', // deploy step: reboot = off (if on) + on
      'power on',
      'power status',
      'raw 0x00 0x08 0x03 0x08', // prepare_instance_boot, twice
      'chassis bootdev disk options=persistent',
      'raw 0x00 0x08 0x03 0x08',
      'chassis bootdev disk options=persistent',
      'power status', // tear_down_agent polls until the agent has powered the machine off ...
      '(?:power status \\| )*power status', // ... then boot_instance reads the state,
      'power on', // powers on
      'power status', // and waits for it
    ];
    expect(deployCmds).toMatch(new RegExp(`^${expected.join(' \\| ')}$`));
    // The counters a benchmark reads agree with the calls made.
    const stats = ironic.conductor.stats();
    expect(stats.ipmi.runs).toBe(cmds().length);
    expect(stats.ipmi.failures).toBe(0);
    expect(stats.ipmi.bySubcommand['mc info']).toBe(1);
    expect(stats.ipmi.bySubcommand['chassis bootdev disk options=persistent']).toBe(2);
    expect(stats.ipmi.throttleMs).toBeGreaterThan(0);
    expect(stats.heartbeats.processed).toBeGreaterThanOrEqual(2);
    expect(stats.agentCommands).toBeGreaterThanOrEqual(4);
    expect(agents[1]!.received).toEqual([
      'deploy.get_deploy_steps',
      'deploy.execute_deploy_step',
      'standby.get_partition_uuids',
      'standby.power_off',
    ]);
    const write = agents[1]!.commands[1]!.command_params as {
      step: { step: string; args: { image_info: { urls: string[] } } };
    };
    expect(write.step.step).toBe('write_image');
    expect(write.step.args.image_info.urls).toEqual([image.url]);

    // Undeploy with automated cleaning on this node: the agent runs the clean steps.
    await api('PATCH', `/v1/nodes/${uuid}`, [{ op: 'replace', path: '/automated_clean', value: true }]);
    expect((await api('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'deleted' })).status).toBe(202);
    const available = await waitFor(uuid, 'available');
    expect(available.instance_info).toEqual({});
    expect(available.power_state).toBe('power off');
    expect(agents[2]!.received).toEqual([
      'clean.get_clean_steps',
      'clean.execute_clean_step',
      'clean.execute_clean_step',
    ]);
    const cleanSteps = agents[2]!.commands
      .slice(1)
      .map((c) => (c.command_params as { step: { step: string } }).step.step);
    expect(cleanSteps).toEqual(['erase_devices_metadata', 'erase_devices']);
    expect(existsSync(join(dir, 'httpboot', uuid))).toBe(false);

    // What a polling client sees is a subsequence of Ironic's sequence (short transient states may
    // pass between two polls), and always contains the stable and waiting states.
    const full = [
      'enroll',
      'verifying',
      'manageable',
      'inspecting',
      'inspect wait',
      'manageable',
      'cleaning',
      'available',
      'deploying',
      'wait call-back',
      'deploying',
      'wait call-back',
      'deploying',
      'active',
      'deleting',
      'cleaning',
      'clean wait',
      'cleaning',
      'clean wait',
      'cleaning',
      'clean wait',
      'cleaning',
      'available',
    ];
    let i = 0;
    for (const s of states) {
      while (i < full.length && full[i] !== s) i++;
      expect(i, `${s} out of order in ${states.join(' > ')}`).toBeLessThan(full.length);
      i++;
    }
    for (const s of ['manageable', 'inspect wait', 'available', 'wait call-back', 'active', 'clean wait']) {
      expect(states).toContain(s);
    }
    expect(states[states.length - 1]).toBe('available');
  }, 60_000);

  it('reads and sets the boot device over IPMI and fails verification against an unreachable BMC', async () => {
    const n = await api('POST', '/v1/nodes', {
      driver: 'ipmi',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: bmc.port,
        ipmi_username: 'admin',
        ipmi_password: 'password',
      },
    });
    const uuid = n.body.uuid as string;
    expect(
      (await api('PUT', `/v1/nodes/${uuid}/management/boot_device`, { boot_device: 'pxe' })).status,
    ).toBe(204);
    const dev = await api('GET', `/v1/nodes/${uuid}/management/boot_device`);
    expect(dev.body).toEqual({ boot_device: 'pxe', persistent: false });

    const wrong = await api('POST', '/v1/nodes', {
      driver: 'ipmi',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: 1, // nothing listens there: ipmitool gives up after its own retry
        ipmi_username: 'admin',
        ipmi_password: 'password',
      },
    });
    const wuuid = wrong.body.uuid as string;
    const saved = ironic.conductor.config.ipmi.commandRetryTimeout;
    ironic.conductor.config.ipmi.commandRetryTimeout = 0.01;
    try {
      await api('PUT', `/v1/nodes/${wuuid}/states/provision`, { target: 'manage' });
      const failed = await waitFor(wuuid, 'enroll', 30_000);
      expect(failed.last_error).toMatch(
        new RegExp(
          `^Failed to get power state for node ${wuuid}\\. Error: IPMI call failed: power status\\.`,
        ),
      );
    } finally {
      ironic.conductor.config.ipmi.commandRetryTimeout = saved;
    }
  }, 60_000);

  it('syncs power state periodically: a machine that switched itself off is switched back on', async () => {
    const n = await api('POST', '/v1/nodes', {
      driver: 'ipmi',
      name: 'sync',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: bmc.port,
        ipmi_username: 'admin',
        ipmi_password: 'password',
      },
    });
    const uuid = n.body.uuid as string;
    await api('PUT', `/v1/nodes/${uuid}/management/boot_device`, { boot_device: 'disk', persistent: true });
    await api('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'manage' });
    await waitFor(uuid, 'manageable');
    await api('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power on' });
    await ironic.conductor.idle();
    expect((await api('GET', `/v1/nodes/${uuid}`)).body.power_state).toBe('power on');

    bmc.powerOffFromInside();
    const off = bmc.events.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(bmc.events.slice(off - 1).some((e) => e.event === 'power' && e.state === 'off')).toBe(true);
    // force_power_state_during_sync: the recorded state wins, the hardware is set back.
    await ironic.conductor.syncPowerStates();
    await ironic.conductor.idle();
    expect(bmc.events.at(-1)).toMatchObject({ event: 'power', state: 'on' });
    const after = (await api('GET', `/v1/nodes/${uuid}`)).body;
    expect(after).toMatchObject({ power_state: 'power on', maintenance: false });
  }, 30_000);
});
