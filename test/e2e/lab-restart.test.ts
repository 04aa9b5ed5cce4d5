/**
 * A lab restart loses nothing (DESIGN.md, issues 5 and 7): `bmlab up` a lab.yaml with a state
 * directory, change the BMCs with real ipmitool and the lab through its API, deploy a node through
 * mock Ironic, `bmlab down`, `bmlab up` again — and every change is back: users and passwords, boot
 * flags, SEL, FRU, LAN, SOL, DCMI, sensor thresholds, faults, and the deployed node boots its image.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, ipmitool } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));

async function freeTcp(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof a === 'object' && a !== null ? a.port : 0;
}

interface NodeView {
  name: string;
  power: string;
  runState: string;
  bootOverride: { device: string; persistent: boolean; mode: string };
  disk: { checksum: string; os: string | null } | null;
  faults: { latencyMs: number; dropRate: number; agent: { failCommands?: string[] } | null };
}

describe.skipIf(!hasCommand('ipmitool'))('a lab restarted with bmlab down / up keeps its state', () => {
  let dir: string;
  let ports: { bmc: number; http: number; ironic: number; api: number };
  const web = () => ports.bmc; // web-1: deployed through mock Ironic
  const db = () => ports.bmc + 1; // db-1: changed with ipmitool
  const app = () => ports.bmc + 2; // app-1: a persistent UEFI PXE boot device
  const admin = (password: string) => ['-U', 'admin', '-P', password];

  const up = async () => {
    const r = await execa('node', [BIN, 'up', '--detach'], { cwd: dir, reject: false });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}\n${readLog()}`).toBe(0);
  };
  const down = async () => {
    const r = await execa('node', [BIN, 'down'], { cwd: dir, reject: false });
    expect(r.stdout).toMatch(/lab stopped/);
  };
  const readLog = () => {
    try {
      return readFileSync(join(dir, 'state', 'lab.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const node = async (name: string): Promise<NodeView> =>
    (await (await fetch(`http://127.0.0.1:${ports.api}/v1/nodes/${name}`)).json()) as NodeView;
  const ok = async (port: number, args: string[], password = 'password') => {
    const r = await ipmitool(port, args, admin(password));
    expect(r.ok, `ipmitool ${args.join(' ')}: ${r.out}`).toBe(true);
    return r.out;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bmlab-restart-'));
    ports = { bmc: await freeTcp(), http: await freeTcp(), ironic: await freeTcp(), api: await freeTcp() };
    writeFileSync(
      join(dir, 'lab.yaml'),
      [
        'nodes:',
        '  - name: web-1',
        '  - name: db-1',
        '  - name: app-1',
        'stateDir: ./state',
        'timeScale: 0.01',
        `bmc: { basePort: ${ports.bmc} }`,
        `httpBoot: { port: ${ports.http} }`,
        `ironicPort: ${ports.ironic}`,
        `api: { port: ${ports.api} }`,
        '',
      ].join('\n'),
    );
    await up();
  });

  afterAll(async () => {
    await execa('node', [BIN, 'down'], { cwd: dir, reject: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings back everything ipmitool and the lab API changed, and the deployed node boots its image', {
    timeout: 180_000,
  }, async () => {
    // --- before: a deploy through mock Ironic's REST API (web-1) ---
    const lab = (await (await fetch(`http://127.0.0.1:${ports.api}/v1`)).json()) as {
      httpUrl: string;
      images: {
        image: { url: string; md5: string; sha256: string };
        deployKernel: string;
        deployRamdisk: string;
      };
    };
    const ironic = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`http://127.0.0.1:${ports.ironic}${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-OpenStack-Ironic-API-Version': '1.82' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      expect(r.status, `${method} ${path}: ${text}`).toBeLessThan(400);
      return text === '' ? undefined : JSON.parse(text);
    };
    const webNode = await ironic('POST', '/v1/nodes', {
      name: 'web-1',
      driver: 'ipmi',
      boot_interface: 'ipxe',
      driver_info: {
        ipmi_address: '127.0.0.1',
        ipmi_port: web(),
        ipmi_username: 'admin',
        ipmi_password: 'password',
        deploy_kernel: lab.images.deployKernel,
        deploy_ramdisk: lab.images.deployRamdisk,
      },
      properties: { cpu_arch: 'x86_64', cpus: 2, memory_mb: 4096, local_gb: 19 },
    });
    const macs = ((await node('web-1')) as unknown as { macs: string[] }).macs;
    await ironic('POST', '/v1/ports', { address: macs[0], node_uuid: webNode.uuid });
    const waitFor = async (state: string) => {
      for (let i = 0; i < 1200; i++) {
        const x = await ironic('GET', `/v1/nodes/${webNode.uuid}`);
        if (x.provision_state === state && x.target_provision_state === null) return x;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`web-1 never reached ${state}`);
    };
    const provision = (target: string) =>
      ironic('PUT', `/v1/nodes/${webNode.uuid}/states/provision`, { target });
    await provision('manage');
    await waitFor('manageable');
    await provision('provide');
    await waitFor('available');
    await ironic('PATCH', `/v1/nodes/${webNode.uuid}`, [
      {
        op: 'add',
        path: '/instance_info',
        value: {
          image_source: lab.images.image.url,
          image_checksum: lab.images.image.md5,
          image_disk_format: 'raw',
        },
      },
    ]);
    await provision('active');
    await waitFor('active');
    const written = `sha256:${lab.images.image.sha256}`;
    expect((await node('web-1')).disk?.checksum).toBe(written);

    // --- before: ipmitool changes on db-1 and app-1, faults through the lab API ---
    await ok(db(), ['user', 'set', 'name', '3', 'ops']);
    await ok(db(), ['user', 'set', 'password', '3', 'ops-secret']);
    await ok(db(), ['channel', 'setaccess', '1', '3', 'ipmi=on', 'privilege=3']);
    await ok(db(), ['user', 'enable', '3']);
    await ok(app(), ['chassis', 'bootdev', 'pxe', 'options=persistent,efiboot']);
    await ok(db(), ['chassis', 'bootdev', 'disk']);
    const events = join(dir, 'events');
    writeFileSync(events, '0x04 0x01 0x01 0x01 0x59 0x5b 0x5a\n');
    await ok(db(), ['sel', 'add', events]);
    // The SEL clock set far from the wall clock: a BMC's battery-backed clock keeps running.
    await ok(db(), ['sel', 'time', 'set', '01/01/30 00:00:00']);
    const selBefore = await ok(db(), ['sel', 'list']);
    // Write FRU Data (Storage 12h): device 0, offset 01F0h, two bytes.
    expect(await ok(db(), ['raw', '0x0a', '0x12', '0x00', '0xf0', '0x01', '0xab', '0xcd'])).toMatch(/02/);
    await ok(db(), ['lan', 'set', '1', 'ipaddr', '10.20.30.40']);
    await ok(db(), ['sol', 'set', 'retry-count', '5', '1']);
    await ok(db(), ['sol', 'set', 'non-volatile-bit-rate', '57.6', '1']);
    await ok(db(), ['dcmi', 'power', 'set_limit', 'limit', '321']);
    await ok(db(), ['sensor', 'thresh', 'CPU Temp', 'upper', '70', '75', '80']);
    const put = await fetch(`http://127.0.0.1:${ports.api}/v1/nodes/db-1/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ latencyMs: 30, agentFailCommands: ['deploy.write_image'] }),
    });
    expect(put.status).toBe(200);
    await ok(db(), ['user', 'set', 'password', '2', 'n3w-pass']);
    expect((await ipmitool(db(), ['power', 'status'], admin('password'))).ok).toBe(false);

    // --- restart ---
    await down();
    await up();

    // --- after: the deployed node came back on (policy "previous") and boots its image from disk ---
    let w = await node('web-1');
    for (let i = 0; i < 200 && w.runState !== 'os'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      w = await node('web-1');
    }
    expect(w).toMatchObject({ power: 'on', runState: 'os', disk: { checksum: written } });
    expect(w.bootOverride).toMatchObject({ device: 'disk', persistent: true });
    const console = (await (await fetch(`http://127.0.0.1:${ports.api}/v1/nodes/web-1/console`)).json()) as {
      text: string;
    };
    expect(console.text).toMatch(new RegExp(`bmlab-deployed-image ${written.slice(7, 19)} up`));
    expect(await ok(web(), ['chassis', 'status'])).toMatch(/Power Restore Policy : previous/);
    expect(await ok(web(), ['chassis', 'restart_cause'])).toMatch(
      /System restart cause: power-up due to restore-previous power policy/,
    );
    expect((await ironic('GET', `/v1/nodes/${webNode.uuid}`)).provision_state).toBe('active');

    // --- after: db-1 and app-1 as ipmitool left them ---
    expect((await ipmitool(db(), ['power', 'status'], admin('password'))).ok).toBe(false); // old password
    expect(await ok(db(), ['power', 'status'], 'n3w-pass')).toMatch(/Chassis Power is off/);
    expect(await ok(db(), ['user', 'list', '1'], 'n3w-pass')).toMatch(
      /^3\s+ops\s+true\s+false\s+true\s+OPERATOR$/m,
    );
    // ops logs in with its password, up to its privilege limit (operator) and no further.
    const ops = ['-U', 'ops', '-P', 'ops-secret'];
    expect((await ipmitool(db(), ['-L', 'OPERATOR', 'power', 'status'], ops)).out).toMatch(
      /Chassis Power is off/,
    );
    expect((await ipmitool(db(), ['-L', 'ADMINISTRATOR', 'power', 'status'], ops)).ok).toBe(false);
    const db1 = await node('db-1');
    expect(db1.power).toBe('off');
    expect(db1.bootOverride).toEqual({ device: 'disk', persistent: false, mode: 'bios' });
    const boot5 = await ok(db(), ['chassis', 'bootparam', 'get', '5'], 'n3w-pass');
    expect(boot5).toMatch(/Options apply to only next boot/);
    expect(boot5).toMatch(/Force Boot from default Hard-Drive/);
    const app5 = await ok(app(), ['chassis', 'bootparam', 'get', '5']);
    expect(app5).toMatch(/Options apply to all future boots/);
    expect(app5).toMatch(/BIOS EFI boot/);
    expect(app5).toMatch(/Force PXE/);
    expect(await ok(db(), ['sel', 'list'], 'n3w-pass')).toBe(selBefore);
    const selTime = /01\/01\/30 00:(\d\d):(\d\d) UTC/.exec(
      await ok(db(), ['sel', 'time', 'get'], 'n3w-pass'),
    );
    expect(selTime).not.toBeNull(); // not before the time set, and not more than an hour later
    expect(Number(selTime?.[1]) * 60 + Number(selTime?.[2])).toBeGreaterThan(0);
    expect(await ok(db(), ['sel', 'elist'], 'n3w-pass')).toMatch(
      /Temperature #0x01 \| Upper Critical going high/,
    );
    expect(await ok(db(), ['raw', '0x0a', '0x11', '0x00', '0xf0', '0x01', '0x02'], 'n3w-pass')).toMatch(
      /02 ab cd/,
    );
    expect(await ok(db(), ['lan', 'print', '1'], 'n3w-pass')).toMatch(/IP Address\s+: 10\.20\.30\.40/);
    const sol = await ok(db(), ['sol', 'info', '1'], 'n3w-pass');
    expect(sol).toMatch(/Retry Count\s+: 5/);
    expect(sol).toMatch(/Non-Volatile Bit Rate \(kbps\)\s+: 57\.6/);
    expect(await ok(db(), ['dcmi', 'power', 'get_limit'], 'n3w-pass')).toMatch(/Power Limit:\s+321 Watts/);
    const cpu = await ok(db(), ['sensor', 'get', 'CPU Temp'], 'n3w-pass');
    expect(cpu).toMatch(/Upper Non-Critical\s+: 70\.000/);
    expect(cpu).toMatch(/Upper Critical\s+: 75\.000/);
    expect(cpu).toMatch(/Upper Non-Recoverable\s+: 80\.000/);
    expect(db1.faults).toMatchObject({ latencyMs: 30, agent: { failCommands: ['deploy.write_image'] } });
  });

  it('refuses to start on a damaged lab.sqlite, naming it, and leaves the file as it was', {
    timeout: 60_000,
  }, async () => {
    await down();
    const file = join(dir, 'state', 'lab.sqlite');
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    writeFileSync(file, 'not a database '.repeat(100));
    const r = await execa('node', [BIN, 'up'], { cwd: dir, reject: false, timeout: 30_000 });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`${file}: is not a usable lab state database`);
    expect(readFileSync(file, 'utf8')).toBe('not a database '.repeat(100));
  });
});
