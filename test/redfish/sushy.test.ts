/**
 * The Redfish service against the client real users have: Debian's python3-sushy, driven the way
 * Ironic's redfish interfaces drive it (test/support/python/sushy_driver.py). Every value sushy
 * reads back is checked against the machine's state and spec, and every write against the machine.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedfishServer } from '../../bmc-emulator/src/redfish/index.ts';
import { defaultMachineSpec, InMemoryMachine } from '../../vm-fleet/src/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: sushy's answers are untyped JSON
type Doc = Record<string, any>;

const PYTHON = '/usr/bin/python3';
const DRIVER = fileURLToPath(new URL('../support/python/sushy_driver.py', import.meta.url));
const hasSushy = existsSync('/usr/lib/python3/dist-packages/sushy');
const USER = { username: 'admin', password: 'password' };
const GiB = 1024 ** 3;

/** One python3 process speaking JSON lines; each call waits for its answer. */
class Sushy {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  #stderr = '';
  constructor() {
    this.#proc = spawn(PYTHON, [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#proc.stderr.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
    this.#lines = createInterface({ input: this.#proc.stdout });
    this.#lines.on('line', (l) => this.#waiting.shift()?.resolve(l));
    this.#proc.on('exit', (code) => {
      for (const w of this.#waiting.splice(0))
        w.reject(new Error(`sushy driver exited ${code}: ${this.#stderr}`));
    });
  }
  async call<T = unknown>(op: string, args: object = {}): Promise<T> {
    const line = await new Promise<string>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#proc.stdin.write(`${JSON.stringify({ op, ...args })}\n`);
    });
    const r = JSON.parse(line) as { ok: boolean; result: T; error?: string; type?: string };
    if (!r.ok) throw new Error(`${op}: ${r.type}: ${r.error}`);
    return r.result;
  }
  /** What sushy logged at WARNING and above (ETag retries, missing allowable values, ...). */
  get stderr(): string {
    return this.#stderr;
  }
  async close(): Promise<void> {
    this.#proc.stdin.end();
    if (this.#proc.exitCode === null) await new Promise((r) => this.#proc.once('exit', r));
  }
}

describe.skipIf(!hasSushy)('python3-sushy against the Redfish service', () => {
  const machines = [0, 1].map(
    (i) =>
      new InMemoryMachine({
        ...defaultMachineSpec(i),
        cpus: 4 + i,
        memoryMiB: 8192,
        nics: [{ mac: `52:54:00:00:0${i}:00` }, { mac: `52:54:00:00:0${i}:01` }],
        disks: [
          { name: 'sda', sizeBytes: 30 * GiB },
          { name: 'sdb', sizeBytes: 1 * GiB },
        ],
      }),
  );
  let server: RedfishServer;
  let tlsServer: RedfishServer;
  beforeAll(async () => {
    const systems = machines.map((machine) => ({ id: machine.spec.name, machine }));
    server = await RedfishServer.start({ systems, auth: USER }, { port: 0 });
    tlsServer = await RedfishServer.start(
      { systems: [{ id: 'node-0', machine: machines[0] as InMemoryMachine }], auth: USER },
      { port: 0, tls: true },
    );
  });
  afterAll(async () => {
    await server?.close();
    await tlsServer?.close();
  });

  it('power and boot as Ironic redfish power/management do, over a session', async () => {
    const m = machines[1] as InMemoryMachine;
    const sys = '/redfish/v1/Systems/node-1';
    const c = new Sushy();
    try {
      const conn = await c.call<{ session: boolean; session_uri: string }>('connect', {
        url: server.url,
        ...USER,
      });
      expect(conn.session).toBe(true);
      expect(server.app.redfish.sessions.all()).toHaveLength(1);
      expect(conn.session_uri).toBe(
        `/redfish/v1/SessionService/Sessions/${server.app.redfish.sessions.all()[0]?.id}`,
      );

      const s = await c.call<Doc>('get_system', { system_id: sys });
      expect(s).toMatchObject({ identity: 'node-1', name: 'node-1', power_state: 'Off' });
      expect(s['allowed_reset']).toEqual([
        'ForceOff',
        'ForceRestart',
        'GracefulRestart',
        'GracefulShutdown',
        'Nmi',
        'On',
        'PushPowerButton',
      ]);
      expect(s['allowed_boot']).toEqual(expect.arrayContaining(['Pxe', 'Hdd', 'Cd', 'BiosSetup', 'None']));

      expect(await c.call('reset', { system_id: sys, value: 'On' })).toBe('On');
      expect(m.powerState()).toBe('on');
      expect(await c.call('reset', { system_id: sys, value: 'ForceOff' })).toBe('Off');
      expect(m.powerState()).toBe('off');
      // Power changed behind Redfish's back (IPMI, or the guest): sushy reads the machine.
      await m.powerOn();
      expect(await c.call('power_state', { system_id: sys })).toBe('On');
      expect(await c.call('reset', { system_id: sys, value: 'ForceRestart' })).toBe('On');

      // Ironic set_boot_device(pxe, persistent=False) in UEFI mode.
      const once = await c.call('set_boot', { system_id: sys, target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
      expect(once).toEqual({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
      expect(m.bootOverride()).toEqual({ device: 'pxe', persistent: false, mode: 'uefi' });
      expect(await c.call('reset', { system_id: sys, value: 'ForceRestart' })).toBe('On');
      expect(m.lastBootDevice).toBe('pxe');
      expect((await c.call<Doc>('get_system', { system_id: sys }))['boot']).toEqual({
        target: 'None',
        enabled: 'Disabled',
        mode: 'UEFI',
      });
      // After deploy: set_boot_device(disk, persistent=True), legacy BIOS.
      const cont = await c.call('set_boot', {
        system_id: sys,
        target: 'Hdd',
        enabled: 'Continuous',
        mode: 'Legacy',
      });
      expect(cont).toEqual({ target: 'Hdd', enabled: 'Continuous', mode: 'Legacy' });
      expect(m.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'bios' });
      await c.call('reset', { system_id: sys, value: 'ForceRestart' });
      expect(m.bootOverride()).toEqual({ device: 'disk', persistent: true, mode: 'bios' });
      // Only the mode, as Ironic's set_boot_mode does.
      expect(await c.call('set_boot', { system_id: sys, mode: 'UEFI' })).toEqual({
        target: 'Hdd',
        enabled: 'Continuous',
        mode: 'UEFI',
      });

      // Secure boot as Ironic's set_secure_boot_state does it (the node boots UEFI now).
      expect(await c.call('secure_boot', { system_id: sys, enabled: true })).toEqual({
        enabled: true,
        current_boot: 'Disabled',
        mode: 'DeployedMode',
      });
      await c.call('reset', { system_id: sys, value: 'ForceRestart' });
      expect(await c.call('secure_boot', { system_id: sys })).toMatchObject({
        enabled: true,
        current_boot: 'Enabled',
      });

      const ch = await c.call<Doc>('chassis_power', { system_id: sys });
      expect(ch['power_state']).toBe('On');
      expect(ch['watts']).toBeGreaterThan(0);
      await c.call('reset', { system_id: sys, value: 'GracefulShutdown' });
      expect(m.powerState()).toBe('off');
      expect((await c.call<Doc>('chassis_power', { system_id: sys }))['watts']).toBe(0);

      await c.call('close');
      expect(server.app.redfish.sessions.all()).toHaveLength(0);
      // sushy had nothing to complain about: no ETag retries, no missing allowable values.
      expect(c.stderr).toBe('');
    } finally {
      await c.close();
    }
  });

  it('out-of-band inspection, BIOS settings and virtual media as Ironic reads them', async () => {
    const m = machines[0] as InMemoryMachine;
    const sys = '/redfish/v1/Systems/node-0';
    const c = new Sushy();
    try {
      await c.call('connect', { url: server.url, ...USER });
      const p = await c.call<Doc>('inspect', { system_id: sys });
      expect(p['memory_mb']).toBe(m.spec.memoryMiB);
      expect(p['cpus']).toBe(m.spec.cpus);
      expect(p['cpu_arch']).toBe('x86_64');
      // The 1 GiB disk is under Ironic's 4 GiB floor; the 30 GiB one gives local_gb 29.
      expect(p['local_gb']).toBe(29);
      const sizes = m.spec.disks.map((d) => d.sizeBytes).sort((a, b) => a - b);
      expect(p['storage_drives']).toEqual(sizes);
      expect(p['storage_volumes']).toEqual(sizes);
      expect(p['simple_storage_max']).toBe(30 * GiB);
      expect(p['macs']).toEqual(Object.fromEntries(m.spec.nics.map((n) => [n.mac, 'Enabled'])));
      expect(p['boot_mode']).toBe('Legacy');

      const bios = await c.call<Doc>('bios', { system_id: sys });
      expect(bios['attributes']).toMatchObject({ NumCores: String(m.spec.cpus), ProcTurboMode: 'Enabled' });
      expect(bios['pending']).toEqual({});
      expect(await c.call('bios_set', { system_id: sys, attributes: { ProcTurboMode: 'Disabled' } })).toEqual(
        {
          ProcTurboMode: 'Disabled',
        },
      );
      await m.powerOn(); // the next POST applies it, as after Ironic's reboot
      const applied = await c.call<Doc>('bios', { system_id: sys });
      expect(applied['attributes']['ProcTurboMode']).toBe('Disabled');
      expect(applied['pending']).toEqual({});
      await expect(c.call('bios_set', { system_id: sys, attributes: { NoSuch: 'x' } })).rejects.toThrow(
        /BadRequestError.*PropertyUnknown/s,
      );

      const rf = server.app.redfish.systems.get('node-0');
      const iso = 'http://127.0.0.1:9/boot/node-0.iso';
      const inserted = await c.call('vmedia_insert', { system_id: sys, image: iso });
      expect(inserted).toEqual({
        identity: 'Cd',
        image: iso,
        image_name: 'node-0.iso',
        inserted: true,
        write_protected: true,
      });
      expect(rf?.media('Cd')).toMatchObject({ image: iso, inserted: true });
      const booted: string[] = [];
      rf?.subscribe((e) => {
        if (e.type === 'media-boot') booted.push(e.image);
      });
      await c.call('set_boot', { system_id: sys, target: 'Cd', enabled: 'Once' });
      await c.call('reset', { system_id: sys, value: 'ForceRestart' });
      expect(m.lastBootDevice).toBe('cdrom');
      expect(booted).toEqual([iso]);
      const ejected = await c.call<Doc>('vmedia_eject', { system_id: sys });
      expect(ejected).toMatchObject({ image: null, inserted: false });
      expect(rf?.media('Cd').image).toBeNull();
      await c.call('close');
      // The one warning is the refused attribute (sushy logs the refused PATCH).
      expect(c.stderr.trim().split('\n')).toEqual([expect.stringContaining('Attributes/NoSuch')]);
    } finally {
      await c.call('reset', { system_id: sys, value: 'ForceOff' }).catch(() => undefined);
      await c.close();
    }
  });

  it('HTTPS with the self-signed certificate and Basic auth', async () => {
    expect(tlsServer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dir = await mkdtemp(join(tmpdir(), 'bmlab-redfish-test-'));
    const ca = join(dir, 'bmc.pem');
    await writeFile(ca, tlsServer.certificate ?? '');
    const c = new Sushy();
    try {
      // The certificate verifies (its subjectAltName is the address) when the client trusts it.
      const conn = await c.call<{ session: boolean }>('connect', {
        url: tlsServer.url,
        ...USER,
        auth: 'basic',
        verify: ca,
      });
      expect(conn.session).toBe(false);
      const s = await c.call<Doc>('get_system', { system_id: '/redfish/v1/Systems/node-0' });
      expect(s['uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(s['power_state']).toBe((machines[0] as InMemoryMachine).powerState() === 'on' ? 'On' : 'Off');
      // A wrong password: the session login fails with 401 and sushy says so.
      await expect(
        c.call('connect', {
          url: tlsServer.url,
          username: 'admin',
          password: 'wrong',
          auth: 'session',
          verify: ca,
        }),
      ).rejects.toThrow(/AccessError.*401/s);
    } finally {
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
