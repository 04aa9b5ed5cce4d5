import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Conductor, defaultConductorConfig } from '../conductor/conductor.ts';
import { IronicStore } from '../store/store.ts';
import { type App, buildApp } from './app.ts';

const V = { 'X-OpenStack-Ironic-API-Version': '1.82' };

let dir: string;
let store: IronicStore;
let conductor: Conductor;
let app: App;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mock-ironic-api-'));
  store = new IronicStore(':memory:');
  conductor = new Conductor(store, {
    ...defaultConductorConfig({
      httpRoot: dir,
      httpUrl: 'http://127.0.0.1:8088',
      apiUrl: 'http://127.0.0.1:6385',
    }),
    syncPowerStateInterval: 0,
    checkProvisionStateInterval: 0,
  });
  app = buildApp({ store, conductor, publicUrl: 'http://127.0.0.1:6385' });
});

afterEach(async () => {
  await conductor.idle();
  await app.close();
  await conductor.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Decodes Ironic's doubly-encoded error body. */
function fault(body: string): { faultcode: string; faultstring: string; debuginfo: null } {
  return JSON.parse((JSON.parse(body) as { error_message: string }).error_message);
}

async function createNode(body: object, headers: Record<string, string> = V) {
  const res = await app.inject({ method: 'POST', url: '/v1/nodes', headers, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as Record<string, unknown>;
}

async function provision(ident: string, target: string, extra: object = {}) {
  return app.inject({
    method: 'PUT',
    url: `/v1/nodes/${ident}/states/provision`,
    headers: V,
    payload: { target, ...extra },
  });
}

describe('version discovery and microversions', () => {
  it('describes the API at / and /v1', async () => {
    const root = (await app.inject('/')).json();
    expect(root.name).toBe('OpenStack Ironic API');
    expect(root.default_version).toMatchObject({
      id: 'v1',
      min_version: '1.1',
      version: '1.82',
      status: 'CURRENT',
    });
    const v1 = await app.inject('/v1');
    expect(v1.json().media_types[0].type).toBe('application/vnd.openstack.ironic.v1+json');
    expect(v1.headers['x-openstack-ironic-api-minimum-version']).toBe('1.1');
    expect(v1.headers['x-openstack-ironic-api-maximum-version']).toBe('1.82');
    expect(v1.headers['x-openstack-ironic-api-version']).toBe('1.1');
  });

  it('negotiates latest and refuses unsupported versions with 406', async () => {
    const latest = await app.inject({
      url: '/v1/nodes',
      headers: { 'X-OpenStack-Ironic-API-Version': 'latest' },
    });
    expect(latest.headers['x-openstack-ironic-api-version']).toBe('1.82');
    const high = await app.inject({
      url: '/v1/nodes',
      headers: { 'X-OpenStack-Ironic-API-Version': '1.83' },
    });
    expect(high.statusCode).toBe(406);
    expect(high.headers['x-openstack-ironic-api-maximum-version']).toBe('1.82');
    expect(fault(high.body).faultstring).toBe(
      'Version 1.83 was requested but the minor version is not supported by this service. The supported version range is: [1.1, 1.82].',
    );
    const major = await app.inject({
      url: '/v1/nodes',
      headers: { 'X-OpenStack-Ironic-API-Version': '2.1' },
    });
    expect(major.statusCode).toBe(406);
    expect(fault(major.body).faultstring).toMatch(/^Mutually exclusive versions requested/);
    const junk = await app.inject({ url: '/v1/nodes', headers: { 'X-OpenStack-Ironic-API-Version': 'abc' } });
    expect(junk.statusCode).toBe(406);
  });

  it('lists the drivers', async () => {
    const res = await app.inject({ url: '/v1/drivers', headers: V });
    expect(res.json().drivers.map((d: { name: string }) => d.name)).toEqual([
      'ipmi',
      'redfish',
      'fake-hardware',
    ]);
    expect((await app.inject({ url: '/v1/drivers/idrac', headers: V })).statusCode).toBe(404);
  });
});

describe('nodes', () => {
  it('creates in enroll (1.11+) or available (older), shows by UUID or name, lists with fields and filters', async () => {
    const n = await createNode({
      driver: 'ipmi',
      name: 'node-0',
      driver_info: { ipmi_address: '127.0.0.1', ipmi_password: 'secret' },
    });
    expect(n['provision_state']).toBe('enroll');
    expect(n['boot_interface']).toBe('ipxe');
    expect(n['deploy_interface']).toBe('direct');
    expect(n['driver_info']).toEqual({ ipmi_address: '127.0.0.1', ipmi_password: '******' });
    const old = await createNode({ driver: 'fake-hardware' }, {});
    expect(old['provision_state']).toBe('available');

    const byName = (await app.inject({ url: '/v1/nodes/node-0', headers: V })).json();
    expect(byName.uuid).toBe(n['uuid']);
    const list = (await app.inject({ url: '/v1/nodes', headers: V })).json();
    expect(Object.keys(list.nodes[0]).sort()).toEqual(
      ['instance_uuid', 'links', 'maintenance', 'name', 'power_state', 'provision_state', 'uuid'].sort(),
    );
    const filtered = (
      await app.inject({ url: '/v1/nodes?provision_state=enroll&fields=uuid,driver', headers: V })
    ).json();
    expect(filtered.nodes).toEqual([{ uuid: n['uuid'], driver: 'ipmi' }]);
    const detail = (await app.inject({ url: '/v1/nodes/detail?driver=fake-hardware', headers: V })).json();
    expect(detail.nodes).toHaveLength(1);
    expect(detail.nodes[0].power_interface).toBe('fake');
    const bad = await app.inject({ url: '/v1/nodes?fields=nope', headers: V });
    expect(bad.statusCode).toBe(400);
    expect(fault(bad.body).faultstring).toBe('Field(s) "nope" are not valid');
    const missing = await app.inject({ url: '/v1/nodes/ghost', headers: V });
    expect(missing.statusCode).toBe(404);
    expect(fault(missing.body)).toEqual({
      faultcode: 'Client',
      faultstring: 'Node ghost could not be found.',
      debuginfo: null,
    });
  });

  it('renders errors exactly like Ironic (double-encoded, Python spacing)', async () => {
    const res = await app.inject({ url: '/v1/nodes/ghost', headers: V });
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toBe(
      '{"error_message": "{\\"faultcode\\": \\"Client\\", \\"faultstring\\": \\"Node ghost could not be found.\\", \\"debuginfo\\": null}"}',
    );
  });

  it('validates bodies against the node schema', async () => {
    const extra = await app.inject({
      method: 'POST',
      url: '/v1/nodes',
      headers: V,
      payload: { driver: 'ipmi', bogus: 1 },
    });
    expect(extra.statusCode).toBe(400);
    expect(fault(extra.body).faultstring).toBe(
      "Schema error for node: Additional properties are not allowed ('bogus' was unexpected)",
    );
    const noDriver = await app.inject({
      method: 'POST',
      url: '/v1/nodes',
      headers: V,
      payload: { name: 'x' },
    });
    expect(fault(noDriver.body).faultstring).toBe("Schema error for node: 'driver' is a required property");
    const badIface = await app.inject({
      method: 'POST',
      url: '/v1/nodes',
      headers: V,
      payload: { driver: 'ipmi', boot_interface: 'fake' },
    });
    expect(badIface.statusCode).toBe(400);
    const dup = await createNode({ driver: 'ipmi', name: 'twin' });
    const dup2 = await app.inject({
      method: 'POST',
      url: '/v1/nodes',
      headers: V,
      payload: { driver: 'ipmi', name: 'twin' },
    });
    expect(dup2.statusCode).toBe(409);
    expect(fault(dup2.body).faultstring).toBe('A node with name twin already exists.');
    expect(dup['name']).toBe('twin');
  });

  it('updates with JSON patch and refuses internal attributes', async () => {
    const n = await createNode({ driver: 'ipmi', name: 'p' });
    const res = await app.inject({
      method: 'PATCH',
      url: '/v1/nodes/p',
      headers: V,
      payload: [
        { op: 'add', path: '/driver_info/ipmi_address', value: '10.0.0.1' },
        { op: 'add', path: '/instance_info/image_source', value: 'http://x/img.raw' },
        { op: 'replace', path: '/maintenance', value: true },
        { op: 'add', path: '/properties/cpus', value: 2 },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.driver_info.ipmi_address).toBe('10.0.0.1');
    expect(body.instance_info.image_source).toBe('http://x/img.raw');
    expect(body.maintenance).toBe(true);
    expect(body.properties).toEqual({ cpus: 2 });
    const internal = await app.inject({
      method: 'PATCH',
      url: `/v1/nodes/${n['uuid']}`,
      headers: V,
      payload: [{ op: 'replace', path: '/provision_state', value: 'active' }],
    });
    expect(internal.statusCode).toBe(400);
    // As Ironic 21.4 answers it (seen against the real service, bmlab fidelity / invalid-requests).
    expect(fault(internal.body).faultstring).toMatch(
      /^Cannot patch \/provision_state\. Only the following can be updated: automated_clean, bios_interface, /,
    );
    const removeMissing = await app.inject({
      method: 'PATCH',
      url: '/v1/nodes/p',
      headers: V,
      payload: [{ op: 'remove', path: '/extra/nothing' }],
    });
    expect(removeMissing.statusCode).toBe(400);
  });

  it('deletes only in enroll/manageable/adopt failed unless in maintenance', async () => {
    const n = await createNode({ driver: 'fake-hardware', name: 'd' }, {});
    const refused = await app.inject({ method: 'DELETE', url: '/v1/nodes/d', headers: V });
    expect(refused.statusCode).toBe(409);
    expect(fault(refused.body).faultstring).toMatch(
      /^Can not delete node ".*" while it is in provision state "available"/,
    );
    await app.inject({
      method: 'PUT',
      url: '/v1/nodes/d/maintenance',
      headers: V,
      payload: { reason: 'gone' },
    });
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/nodes/${n['uuid']}`, headers: V })).statusCode,
    ).toBe(204);
    expect(store.getNode(String(n['uuid']))).toBeUndefined();
  });
});

describe('ports', () => {
  it('needs a node UUID, normalises MACs, refuses duplicates', async () => {
    const n = await createNode({ driver: 'ipmi', name: 'withport' });
    const byName = await app.inject({
      method: 'POST',
      url: '/v1/ports',
      headers: V,
      payload: { address: '52:54:00:00:00:01', node_uuid: 'withport' },
    });
    expect(byName.statusCode).toBe(400);
    expect(fault(byName.body).faultstring).toBe('Expected UUID for node_uuid: withport');
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/ports',
      headers: V,
      payload: { address: '52:54:00:00:00:0A', node_uuid: n['uuid'] },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({
      address: '52:54:00:00:00:0a',
      node_uuid: n['uuid'],
      pxe_enabled: true,
    });
    const dup = await app.inject({
      method: 'POST',
      url: '/v1/ports',
      headers: V,
      payload: { address: '52:54:00:00:00:0a', node_uuid: n['uuid'] },
    });
    expect(dup.statusCode).toBe(409);
    expect(fault(dup.body).faultstring).toBe('A port with MAC address 52:54:00:00:00:0a already exists.');
    const list = (await app.inject({ url: '/v1/ports?node=withport', headers: V })).json();
    expect(list.ports).toHaveLength(1);
    expect(Object.keys(list.ports[0]).sort()).toEqual(['address', 'links', 'uuid']);
    const uuid = list.ports[0].uuid as string;
    expect((await app.inject({ url: `/v1/ports/${uuid}`, headers: V })).json().node_uuid).toBe(n['uuid']);
    expect((await app.inject({ method: 'DELETE', url: `/v1/ports/${uuid}`, headers: V })).statusCode).toBe(
      204,
    );
  });
});

describe('provision state API', () => {
  it('walks a fake-hardware node through the whole cycle with the provision-state sequence of Ironic', async () => {
    const n = await createNode({ driver: 'fake-hardware', name: 'f' });
    const state = async () =>
      (await app.inject({ url: '/v1/nodes/f', headers: V })).json().provision_state as string;
    const seen: string[] = [await state()];
    for (const target of ['manage', 'inspect', 'provide', 'active', 'deleted']) {
      const res = await provision('f', target);
      expect(res.statusCode, `${target}: ${res.body}`).toBe(202);
      expect(res.headers['location']).toBe('http://127.0.0.1:6385/v1/nodes/f/states');
      await conductor.idle();
      seen.push(await state());
    }
    expect(seen).toEqual(['enroll', 'manageable', 'manageable', 'available', 'active', 'available']);
    expect(store.getNode(String(n['uuid']))?.reservation).toBeNull();
  });

  it('cleans manually back to manageable and rebuilds an active node', async () => {
    await createNode({ driver: 'fake-hardware', name: 'm' });
    await provision('m', 'manage');
    await conductor.idle();
    const clean = await provision('m', 'clean', {
      clean_steps: [{ interface: 'deploy', step: 'erase_devices_metadata' }],
    });
    expect(clean.statusCode, clean.body).toBe(202);
    await conductor.idle();
    const after = (await app.inject({ url: '/v1/nodes/m/states', headers: V })).json();
    expect(after).toMatchObject({ provision_state: 'manageable', target_provision_state: null });
    await provision('m', 'provide');
    await conductor.idle();
    await provision('m', 'active');
    await conductor.idle();
    expect((await provision('m', 'rebuild')).statusCode).toBe(202);
    await conductor.idle();
    expect((await app.inject({ url: '/v1/nodes/m', headers: V })).json().provision_state).toBe('active');
  });

  it('answers invalid transitions with 400 and Ironic message', async () => {
    const n = await createNode({ driver: 'ipmi', name: 'e' });
    const res = await provision('e', 'provide');
    expect(res.statusCode).toBe(400);
    expect(fault(res.body).faultstring).toBe(
      `The requested action "provide" can not be performed on node "${n['uuid']}" while it is in state "enroll".`,
    );
    const unknown = await provision('e', 'fly');
    expect(unknown.statusCode).toBe(400);
    const cleanWithout = await createNode({ driver: 'fake-hardware', name: 'c' });
    await provision('c', 'manage');
    await conductor.idle();
    const noSteps = await provision('c', 'clean');
    expect(fault(noSteps.body).faultstring).toBe(
      '"clean_steps" is required when setting target provision state to clean',
    );
    const steps = await provision('c', 'provide', {
      clean_steps: [{ interface: 'deploy', step: 'erase_devices' }],
    });
    expect(fault(steps.body).faultstring).toBe(
      '"clean_steps" is only valid when setting target provision state to clean',
    );
    expect(cleanWithout['provision_state']).toBe('enroll');
  });

  it('refuses deploys that would fail validation, and inspection with no-inspect', async () => {
    await createNode({ driver: 'ipmi', name: 'v', driver_info: { ipmi_address: '127.0.0.1' } }, {});
    const res = await provision('v', 'active');
    expect(res.statusCode).toBe(400);
    expect(fault(res.body).faultstring).toMatch(/^Failed to validate deploy or power info for node/);
    const validate = (await app.inject({ url: '/v1/nodes/v/validate', headers: V })).json();
    expect(validate.power).toEqual({ result: true, reason: null });
    expect(validate.boot.result).toBe(false);
    expect(validate.deploy.result).toBe(false);
    const manageable = await createNode({ driver: 'ipmi', name: 'i' });
    store.saveNode({ ...store.getNode(String(manageable['uuid']))!, provision_state: 'manageable' });
    const inspect = await provision('i', 'inspect');
    expect(inspect.statusCode).toBe(400);
    expect(fault(inspect.body).faultstring).toBe(
      'Driver ipmi does not support inspect (disabled or not implemented).',
    );
  });

  it('validates power targets', async () => {
    await createNode({ driver: 'fake-hardware', name: 'pw' });
    const bad = await app.inject({
      method: 'PUT',
      url: '/v1/nodes/pw/states/power',
      headers: V,
      payload: { target: 'sideways' },
    });
    expect(bad.statusCode).toBe(400);
    expect(fault(bad.body).faultstring).toBe(
      // Python renders the unknown power state as None.
      'The requested action "sideways" can not be performed on node "pw" while it is in state "None".',
    );
    const on = await app.inject({
      method: 'PUT',
      url: '/v1/nodes/pw/states/power',
      headers: V,
      payload: { target: 'power on' },
    });
    expect(on.statusCode).toBe(202);
    await conductor.idle();
    expect((await app.inject({ url: '/v1/nodes/pw/states', headers: V })).json().power_state).toBe(
      'power on',
    );
  });
});

describe('ramdisk endpoints', () => {
  it('look up only in wait states, hand out the token once, and check heartbeats', async () => {
    const n = await createNode({ driver: 'fake-hardware', name: 'r' });
    const uuid = String(n['uuid']);
    await app.inject({
      method: 'POST',
      url: '/v1/ports',
      headers: V,
      payload: { address: '52:54:00:00:00:07', node_uuid: uuid },
    });
    const lookup = () => app.inject({ url: '/v1/lookup?addresses=52:54:00:00:00:07', headers: V });
    expect((await lookup()).statusCode).toBe(404);
    const incomplete = await app.inject({ url: '/v1/lookup', headers: V });
    expect(incomplete.statusCode).toBe(400);
    expect(fault(incomplete.body).faultstring).toBe(
      "At least one of 'addresses' and 'node_uuid' parameters is required",
    );
    expect((await app.inject({ url: '/v1/lookup?addresses=52:54:00:00:00:07' })).statusCode).toBe(404);

    store.saveNode({
      ...store.getNode(uuid)!,
      provision_state: 'wait call-back',
      target_provision_state: 'active',
    });
    const first = await lookup();
    expect(first.statusCode).toBe(200);
    const token = first.json().config.agent_token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.json().config.agent_token_required).toBe(true);
    expect(first.json().node.uuid).toBe(uuid);
    expect((await lookup()).json().config.agent_token).toBe('******');

    const hb = (body: object) =>
      app.inject({ method: 'POST', url: `/v1/heartbeat/${uuid}`, headers: V, payload: body });
    const noToken = await hb({ callback_url: 'http://127.0.0.1:9999', agent_version: '9.4.1' });
    expect(noToken.statusCode).toBe(400);
    expect(fault(noToken.body).faultstring).toBe('Agent token is required for heartbeat processing.');
    const noVersion = await hb({ callback_url: 'http://127.0.0.1:9999', agent_token: token });
    expect(noVersion.statusCode).toBe(400);
    const badToken = await hb({
      callback_url: 'http://127.0.0.1:9999',
      agent_token: 'nope',
      agent_version: '9.4.1',
    });
    expect(badToken.statusCode).toBe(400);
    expect(fault(badToken.body).faultstring).toBe('Invalid or missing agent token received.');

    store.saveNode({
      ...store.getNode(uuid)!,
      driver_internal_info: { ...store.getNode(uuid)!.driver_internal_info, agent_url: 'http://127.0.0.1:1' },
    });
    const moved = await hb({
      callback_url: 'http://127.0.0.1:9999',
      agent_token: token,
      agent_version: '9.4.1',
    });
    expect(moved.statusCode).toBe(400);
    expect(fault(moved.body).faultstring).toBe('Detected change in ramdisk provided "callback_url"');
  });
});
