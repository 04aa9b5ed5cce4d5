/**
 * One boot of the agent against an Ironic-shaped peer that checks the request shapes real Ironic 21.4
 * accepts (reference ironic.md §5): version discovery, lookup retried until the node answers, the
 * token taken once, heartbeats with callback_url/agent_token/agent_version, and the early heartbeat
 * after an async command. Inspection posts the inventory inspector expects (inspector.md §6).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentEvent } from './agent.ts';
import { MemoryHost } from './host.ts';
import type { InspectionData } from './inspect.ts';
import { IronicStub } from './testing.ts';

const mac = '52:54:00:00:00:07';
const gib = 1024 ** 3;

function newHost(): MemoryHost {
  return new MemoryHost({
    name: 'node-7',
    cpus: 4,
    memoryMiB: 8192,
    arch: 'x86_64',
    nics: [{ mac }, { mac: '52:54:00:00:01:07' }],
    disks: [
      { name: 'vda', sizeBytes: 100 * gib },
      { name: 'vdb', sizeBytes: 20 * gib, rotational: false },
      { name: 'vdc', sizeBytes: 1 * gib },
    ],
    bmcAddress: '192.0.2.17',
    ipv4: ['192.0.2.107', null],
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function startAgent(cmdline: string, extra: Partial<ConstructorParameters<typeof Agent>[0]> = {}) {
  const events: AgentEvent[] = [];
  const agent = new Agent({
    cmdline,
    host: newHost(),
    heartbeatIntervalMs: 40,
    lookupIntervalMs: 5,
    lookupMaxIntervalMs: 20,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  await agent.start();
  cleanups.push(() => agent.stop());
  return { agent, events };
}

describe('lookup and heartbeat', () => {
  it('discovers the version, retries lookup until found, then heartbeats with the token', async () => {
    const ironic = await new IronicStub({ macs: [mac], lookupMissesBeforeFound: 3 }).start();
    cleanups.push(() => ironic.stop());
    const { agent, events } = await startAgent(
      `ipa-api-url=${ironic.url} BOOTIF=01-52-54-00-00-00-07 ipa-global-request-id=req-7`,
    );
    expect(await agent.lookedUp).toBe(ironic.nodeUuid);
    await until(() => ironic.heartbeats().length >= 3);

    const [first, ...rest] = ironic.requests;
    expect(first).toMatchObject({ method: 'GET', path: '/' });
    const lookups = rest.filter((r) => r.path === '/v1/lookup');
    expect(lookups).toHaveLength(4);
    for (const l of lookups) {
      expect(l.method).toBe('GET');
      expect(l.query).toEqual({ addresses: `${mac},52:54:00:00:01:07` });
      expect(l.headers['x-openstack-ironic-api-version']).toBe('1.82');
      expect(l.headers['x-openstack-request-id']).toBe('req-7');
      expect(l.headers['accept']).toBe('application/json');
    }
    expect(events.filter((e) => e.type === 'lookup-retry')).toHaveLength(3);

    const hb = ironic.heartbeats()[0]!;
    expect(hb.method).toBe('POST');
    expect(hb.path).toBe(`/v1/heartbeat/${ironic.nodeUuid}`);
    expect(hb.headers['content-type']).toBe('application/json');
    expect(hb.headers['x-openstack-ironic-api-version']).toBe('1.82');
    expect(hb.body).toEqual({
      callback_url: agent.callbackUrl,
      agent_token: ironic.token,
      agent_version: '9.4.1',
    });
    expect(agent.callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The stub records a heartbeat before the agent has read the 202.
    await until(() => events.filter((e) => e.type === 'heartbeat' && e.ok).length >= 3);

    // Ironic reaches the agent on the callback URL it heartbeats with.
    const status = await fetch(`${agent.callbackUrl}/v1/status`);
    expect(((await status.json()) as { version: string }).version).toBe('9.4.1');
  });

  it('asks for the server version when it is below 1.82, and leaves out the token below 1.62', async () => {
    const ironic = await new IronicStub({ macs: [mac], maxVersion: '1.46' }).start();
    cleanups.push(() => ironic.stop());
    await startAgent(`ipa-api-url=${ironic.url} BOOTIF=${mac}`);
    await until(() => ironic.heartbeats().length >= 1);
    const lookup = ironic.requests.find((r) => r.path === '/v1/lookup')!;
    expect(lookup.headers['x-openstack-ironic-api-version']).toBe('1.46');
    // This stub, like Ironic >= 1.62 configured to require tokens, then refuses the heartbeat.
    expect(Object.keys(ironic.heartbeats()[0]!.body as object).sort()).toEqual([
      'agent_version',
      'callback_url',
    ]);
  });

  it('a second boot gets the masked token and its heartbeats are refused, as Ironic does', async () => {
    const ironic = await new IronicStub({ macs: [mac] }).start();
    cleanups.push(() => ironic.stop());
    const first = await startAgent(`ipa-api-url=${ironic.url} BOOTIF=${mac}`);
    await first.agent.lookedUp;
    await first.agent.stop();
    const second = await startAgent(`ipa-api-url=${ironic.url} BOOTIF=${mac}`);
    await second.agent.lookedUp;
    expect(second.agent.token).toBeUndefined();
    await until(() => second.events.some((e) => e.type === 'heartbeat'));
    const hb = second.events.find((e) => e.type === 'heartbeat');
    expect(hb).toMatchObject({ ok: false, error: 'Error 400: Invalid or missing agent token received.' });
  });

  it('maps provisioning-network URLs to local endpoints (resolveUrl)', async () => {
    const ironic = await new IronicStub({ macs: [mac] }).start();
    cleanups.push(() => ironic.stop());
    const { agent } = await startAgent(`ipa-api-url=http://192.0.2.1:6385 BOOTIF=${mac}`, {
      resolveUrl: (u) => u.replace('http://192.0.2.1:6385', ironic.url),
    });
    expect(await agent.lookedUp).toBe(ironic.nodeUuid);
    await until(() => ironic.heartbeats().length >= 1);
  });

  it('fault: heartbeats stop after N', async () => {
    const ironic = await new IronicStub({ macs: [mac] }).start();
    cleanups.push(() => ironic.stop());
    const { events } = await startAgent(`ipa-api-url=${ironic.url} BOOTIF=${mac}`, {
      faults: { heartbeatsStopAfter: 2 },
      heartbeatIntervalMs: 10,
    });
    await until(() => events.some((e) => e.type === 'heartbeats-stopped'));
    await new Promise((r) => setTimeout(r, 60));
    expect(ironic.heartbeats()).toHaveLength(2);
  });

  it('heartbeats early when an async command finishes (force_heartbeat)', async () => {
    const ironic = await new IronicStub({ macs: [mac] }).start();
    cleanups.push(() => ironic.stop());
    const { agent } = await startAgent(`ipa-api-url=${ironic.url} BOOTIF=${mac}`, {
      heartbeatIntervalMs: 60_000,
      forcedHeartbeatGapMs: 0,
    });
    await until(() => ironic.heartbeats().length === 1);
    const res = await fetch(`${agent.callbackUrl}/v1/commands/?wait=false&agent_token=${ironic.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'clean.execute_clean_step',
        params: {
          step: { interface: 'deploy', step: 'erase_devices_metadata', priority: 99 },
          node: {},
          ports: [],
        },
      }),
    });
    expect(res.status).toBe(200);
    await until(() => ironic.heartbeats().length === 2, 2000);
  });

  it('uses the IPA interval: heartbeat_timeout x U(0.3, 0.6)', async () => {
    const ironic = await new IronicStub({ macs: [mac], heartbeatTimeout: 1 }).start();
    cleanups.push(() => ironic.stop());
    const at: number[] = [];
    const agent = new Agent({
      cmdline: `ipa-api-url=${ironic.url} BOOTIF=${mac}`,
      host: newHost(),
      random: () => 0.5,
      onEvent: (e) => {
        if (e.type === 'heartbeat' && e.ok) at.push(Date.now());
      },
    });
    await agent.start();
    cleanups.push(() => agent.stop());
    await until(() => at.length >= 3, 3000);
    // 1 s x (0.3 + 0.3 x 0.5) = 450 ms between heartbeats.
    for (const gap of [at[1]! - at[0]!, at[2]! - at[1]!]) {
      expect(gap).toBeGreaterThanOrEqual(440);
      expect(gap).toBeLessThan(1500);
    }
  });
});

describe('inspection', () => {
  async function inspector(status = 200) {
    const posts: { headers: Record<string, unknown>; body: InspectionData }[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        posts.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          status === 200
            ? JSON.stringify({ uuid: 'node-7-uuid' })
            : JSON.stringify({ error: { message: 'x' } }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/continue`, posts };
  }

  it('posts the inventory inspector expects, then only serves its API (no ipa-api-url)', async () => {
    const insp = await inspector();
    const { agent, events } = await startAgent(
      `ipa-inspection-callback-url=${insp.url} ipa-inspection-collectors=default,logs BOOTIF=01-52-54-00-00-00-07`,
    );
    await until(() => events.some((e) => e.type === 'inspected'));
    expect(events.find((e) => e.type === 'inspected')).toEqual({ type: 'inspected', uuid: 'node-7-uuid' });
    expect(insp.posts).toHaveLength(1);
    const { headers, body } = insp.posts[0]!;
    expect(headers['content-type']).toBe('application/json');
    expect(Object.keys(body).sort()).toEqual([
      'boot_interface',
      'configuration',
      'error',
      'inventory',
      'logs',
      'root_disk',
    ]);
    expect(body.boot_interface).toBe('01-52-54-00-00-00-07');
    expect(body.error).toBeNull();
    // The smallest disk of at least 4 GiB.
    expect(body.root_disk).toMatchObject({ name: '/dev/vdb', size: 20 * gib, rotational: false });
    const inv = body.inventory;
    expect(inv.interfaces[0]).toMatchObject({
      name: 'eth0',
      mac_address: mac,
      ipv4_address: '192.0.2.107',
      has_carrier: true,
    });
    expect(inv.cpu).toMatchObject({ count: 4, architecture: 'x86_64' });
    expect(inv.cpu.flags.length).toBeGreaterThan(0);
    expect(typeof inv.cpu.model_name).toBe('string');
    expect(inv.memory).toMatchObject({ physical_mb: 8192 });
    expect(inv.memory.total).toBeGreaterThan(0);
    expect(inv.disks.map((d) => [d.name, d.size, typeof d.serial])).toEqual([
      ['/dev/vda', 100 * gib, 'string'],
      ['/dev/vdb', 20 * gib, 'string'],
      ['/dev/vdc', 1 * gib, 'string'],
    ]);
    expect(inv.bmc_address).toBe('192.0.2.17');
    expect(inv.system_vendor).toMatchObject({ serial_number: 'node-7' });
    expect(inv.boot).toEqual({ current_boot_mode: 'bios', pxe_interface: '01-52-54-00-00-00-07' });
    expect(body.configuration.managers).toEqual([{ name: 'generic_hardware_manager', version: '1.1' }]);
    expect(typeof body.logs).toBe('string');
    await until(() => agent.logLines.some((l) => l.includes('Heartbeat and lookup skipped for inspector')));
    expect((await fetch(`${agent.callbackUrl}/v1/status`)).status).toBe(200);
  });

  it('goes on with lookup after inspection when both URLs are given, passing the node UUID', async () => {
    const insp = await inspector(400);
    const ironic = await new IronicStub({ macs: [mac] }).start();
    cleanups.push(() => ironic.stop());
    const { agent } = await startAgent(
      `ipa-inspection-callback-url=${insp.url} ipa-api-url=${ironic.url} BOOTIF=${mac}`,
    );
    await agent.lookedUp;
    expect(insp.posts).toHaveLength(1);
    // Inspector refused (400), so there is no UUID to pass on.
    expect(ironic.requests.find((r) => r.path === '/v1/lookup')?.query['node_uuid']).toBeUndefined();
  });
});
