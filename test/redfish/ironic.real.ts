/**
 * The Redfish BMC under real Ironic 21.4's `redfish` hardware type (reference ironic.md §4): enroll
 * with `redfish_address`/`redfish_system_id`, manage (power validation), out-of-band inspection with
 * the `redfish` inspect interface, then power, boot device and boot mode through Ironic's API. Every
 * result is checked against the machine behind the BMC.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedfishServer } from '../../bmc-emulator/src/redfish/index.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../vm-fleet/src/index.ts';
import { hasRealIronic, type RealIronic, startRealIronic } from '../ironic-real/real-ironic.ts';

const GiB = 1024 ** 3;
// biome-ignore lint/suspicious/noExplicitAny: Ironic's answers are untyped JSON
type Doc = Record<string, any>;

const machine = new InMemoryMachine({
  ...defaultMachineSpec(3),
  cpus: 8,
  memoryMiB: 16384,
  nics: [{ mac: '52:54:00:00:03:00' }, { mac: '52:54:00:00:03:01' }],
  disks: [
    { name: 'sda', sizeBytes: 100 * GiB },
    { name: 'sdb', sizeBytes: 50 * GiB },
    { name: 'sdc', sizeBytes: 2 * GiB },
  ],
});
const tlsMachine = new InMemoryMachine(defaultMachineSpec(4));
let server: RedfishServer;
let tlsServer: RedfishServer;
let ironic: RealIronic;
const requests: string[] = [];

beforeAll(async () => {
  if (!hasRealIronic) return;
  server = new RedfishServer({
    systems: [{ id: 'node-3', machine }],
    auth: { username: 'admin', password: 'password' },
  });
  server.app.addHook('onResponse', async (req, reply) => {
    requests.push(`${req.method} ${req.url} ${reply.statusCode}`);
  });
  await server.listen('127.0.0.1', 0);
  tlsServer = await RedfishServer.start(
    { systems: [{ id: 'node-4', machine: tlsMachine }], auth: { username: 'admin', password: 'password' } },
    { port: 0, tls: true },
  );
  // python-requests lets these override the verify setting sushy passes (psf/requests#3829), which
  // would make Ironic check the BMC against the system bundle instead of `redfish_verify_ca`.
  delete process.env['REQUESTS_CA_BUNDLE'];
  delete process.env['CURL_CA_BUNDLE'];
  ironic = await startRealIronic();
}, 120_000);

afterAll(async () => {
  await ironic?.stop();
  await server?.close();
  await tlsServer?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function node(uuid: string): Promise<Doc> {
  return (await ironic.call('GET', `/v1/nodes/${uuid}`))[1] as Doc;
}

async function provision(uuid: string, target: string, stable: string, seen: string[]): Promise<Doc> {
  const [status] = await ironic.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target });
  expect(status).toBe(202);
  return until(`${target} -> ${stable}`, async () => {
    const n = await node(uuid);
    if (seen.at(-1) !== n['provision_state']) seen.push(n['provision_state']);
    if (n['provision_state'] === stable && n['target_provision_state'] === null) return n;
    if (n['provision_state'].endsWith('failed'))
      throw new Error(`${n['provision_state']}: ${n['last_error']}`);
    return undefined;
  });
}

describe.skipIf(!hasRealIronic)('real Ironic 21.4 through the Redfish BMC', () => {
  it('manages, inspects out of band, powers and sets boot device and mode', async () => {
    const [created, n0] = (await ironic.call('POST', '/v1/nodes', {
      name: 'node-3',
      driver: 'redfish',
      inspect_interface: 'redfish',
      boot_interface: 'ipxe',
      driver_info: {
        redfish_address: server.url,
        redfish_system_id: '/redfish/v1/Systems/node-3',
        redfish_username: 'admin',
        redfish_password: 'password',
      },
    })) as [number, Doc];
    expect(created).toBe(201);
    const uuid = n0['uuid'] as string;
    const seen: string[] = [];
    await provision(uuid, 'manage', 'manageable', seen);
    const t0 = performance.now();
    const inspected = await provision(uuid, 'inspect', 'manageable', seen);
    console.log(`redfish inspection took ${Math.round(performance.now() - t0)} ms`);
    expect(seen).toEqual(['verifying', 'manageable', 'inspecting', 'manageable']);
    // Inspection facts are the machine's spec: memory, vCPUs, arch, the smallest disk of at least
    // 4 GiB less one GiB (ironic redfish/inspect.py `_detect_local_gb`), the firmware mode.
    expect(inspected['properties']).toMatchObject({
      memory_mb: String(machine.spec.memoryMiB),
      cpus: machine.spec.cpus,
      cpu_arch: 'x86_64',
      local_gb: '49',
      capabilities: 'boot_mode:bios',
    });
    const [, ports] = (await ironic.call('GET', `/v1/ports?node=${uuid}`)) as [number, Doc];
    expect(ports['ports'].map((p: Doc) => p['address']).sort()).toEqual(machine.spec.nics.map((n) => n.mac));

    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power on' }))[0]).toBe(202);
    await until('power on', async () =>
      (await node(uuid))['power_state'] === 'power on' ? true : undefined,
    );
    expect(machine.powerState()).toBe('on');

    const bootdev = { boot_device: 'pxe', persistent: true };
    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/management/boot_device`, bootdev))[0]).toBe(204);
    expect(machine.bootOverride()).toMatchObject({ device: 'pxe', persistent: true });
    expect((await ironic.call('GET', `/v1/nodes/${uuid}/management/boot_device`))[1]).toEqual(bootdev);

    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/boot_mode`, { target: 'uefi' }))[0]).toBe(202);
    await until('boot mode', async () => ((await node(uuid))['boot_mode'] === 'uefi' ? true : undefined));
    expect(machine.bootOverride()).toEqual({ device: 'pxe', persistent: true, mode: 'uefi' });

    const posts = () => requests.filter((r) => r.includes('ComputerSystem.Reset')).length;
    const before = posts();
    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'rebooting' }))[0]).toBe(
      202,
    );
    await until('reboot', async () =>
      posts() > before && (await node(uuid))['target_power_state'] === null ? true : undefined,
    );
    expect(machine.powerState()).toBe('on');
    expect(machine.lastBootDevice).toBe('pxe');

    const nmis: string[] = [];
    const stopNmi = machine.subscribe((e) => {
      if (e.type === 'nmi') nmis.push(e.type);
    });
    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/management/inject_nmi`, {}))[0]).toBe(204);
    stopNmi();
    expect(nmis).toEqual(['nmi']);

    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power off' }))[0]).toBe(
      202,
    );
    await until('power off', async () =>
      (await node(uuid))['power_state'] === 'power off' ? true : undefined,
    );
    expect(machine.powerState()).toBe('off');
    expect((await node(uuid))['last_error']).toBeNull();
    // Ironic never met a Redfish error it had to work around.
    expect(requests.filter((r) => !/ (200|201|204)$/.test(r))).toEqual([]);
    console.log(`${requests.length} Redfish requests served`);
  });

  it('reaches a BMC over HTTPS, trusting its self-signed certificate via redfish_verify_ca', async () => {
    const ca = join(ironic.state, 'bmc-ca.pem');
    writeFileSync(ca, tlsServer.certificate ?? '');
    const [created, n0] = (await ironic.call('POST', '/v1/nodes', {
      name: 'node-4',
      driver: 'redfish',
      driver_info: {
        redfish_address: tlsServer.url,
        redfish_system_id: '/redfish/v1/Systems/node-4',
        redfish_username: 'admin',
        redfish_password: 'password',
        redfish_verify_ca: ca,
      },
    })) as [number, Doc];
    expect(created).toBe(201);
    const uuid = n0['uuid'] as string;
    await provision(uuid, 'manage', 'manageable', []);
    expect((await node(uuid))['power_state']).toBe('power off');
    expect((await ironic.call('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power on' }))[0]).toBe(202);
    await until('power on', async () =>
      (await node(uuid))['power_state'] === 'power on' ? true : undefined,
    );
    expect(tlsMachine.powerState()).toBe('on');
  });
});
