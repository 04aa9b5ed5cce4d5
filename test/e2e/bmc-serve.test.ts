/**
 * `bmlab bmc serve` as a user runs it: the real command line, its output contract (a line per
 * node, then `ready`), ipmitool against each node, clean exit on SIGTERM, clear errors.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hasCommand, ipmitool } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));

/** Starts `bmlab bmc serve`, resolves with its node lines once it printed `ready`. */
function spawnServe(args: readonly string[]) {
  return execa('node', [BIN, 'bmc', 'serve', ...args], { reject: false, buffer: false });
}

async function serve(
  args: readonly string[],
): Promise<{ proc: ReturnType<typeof spawnServe>; lines: string[] }> {
  const proc = spawnServe(args);
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let pending = '';
    proc.stdout?.on('data', (d: Buffer) => {
      pending += d.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const l of parts) {
        if (l === 'ready') resolve();
        else lines.push(l);
      }
    });
    proc.once('exit', (code) => reject(new Error(`bmc serve exited with ${code} before ready`)));
  });
  return { proc, lines };
}

/** A free UDP port on loopback (to hand to a child process). */
async function freePort(address = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(!hasCommand('ipmitool'))('bmlab bmc serve', () => {
  it('serves N BMCs on consecutive ports; each drives its own machine; SIGTERM exits 0', async () => {
    const base = await freePort();
    const { proc, lines } = await serve(['--nodes', '3', '--base-port', String(base)]);
    try {
      expect(lines).toEqual([
        `node-0 ipmi 127.0.0.1:${base} mac 52:54:00:00:00:00`,
        `node-1 ipmi 127.0.0.1:${base + 1} mac 52:54:00:00:01:00`,
        `node-2 ipmi 127.0.0.1:${base + 2} mac 52:54:00:00:02:00`,
      ]);
      expect((await ipmitool(base + 1, ['power', 'on'])).ok).toBe(true);
      expect((await ipmitool(base + 1, ['power', 'status'])).out).toContain('Chassis Power is on');
      expect((await ipmitool(base, ['power', 'status'])).out).toContain('Chassis Power is off');
      expect((await ipmitool(base + 2, ['-I', 'lan', 'power', 'status'])).out).toContain(
        'Chassis Power is off',
      );
    } finally {
      proc.kill('SIGTERM');
    }
    expect((await proc).exitCode).toBe(0);
  });

  it('one BMC per loopback address on a shared port, like a rack', async () => {
    const port = await freePort('127.0.1.1');
    const { proc, lines } = await serve([
      '--addresses',
      '127.0.1.1-127.0.1.3',
      '--port',
      String(port),
      '--vendor',
      'supermicro',
    ]);
    try {
      expect(lines.map((l) => l.split(' ')[2])).toEqual([
        `127.0.1.1:${port}`,
        `127.0.1.2:${port}`,
        `127.0.1.3:${port}`,
      ]);
      const r = await execa(
        'ipmitool',
        [
          '-I',
          'lanplus',
          '-H',
          '127.0.1.3',
          '-p',
          String(port),
          '-U',
          'admin',
          '-P',
          'password',
          'mc',
          'info',
        ],
        {
          reject: false,
        },
      );
      expect(r.stdout).toMatch(/Manufacturer Name\s+: Super Micro/);
    } finally {
      proc.kill('SIGTERM');
    }
    expect((await proc).exitCode).toBe(0);
  });

  it('--redfish-port serves the same machines over Redfish', async () => {
    const base = await freePort();
    const redfish = await freePort();
    const { proc, lines } = await serve([
      '--nodes',
      '2',
      '--base-port',
      String(base),
      '--redfish-port',
      String(redfish),
    ]);
    try {
      expect(lines).toContain(`redfish http://127.0.0.1:${redfish}/redfish/v1/Systems/<node>`);
      const auth = { Authorization: `Basic ${Buffer.from('admin:password').toString('base64')}` };
      const url = `http://127.0.0.1:${redfish}/redfish/v1/Systems/node-1`;
      const r = await fetch(`${url}/Actions/ComputerSystem.Reset`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ResetType: 'On' }),
      });
      expect(r.status).toBeLessThan(300);
      expect((await ipmitool(base + 1, ['power', 'status'])).out).toContain('Chassis Power is on');
      await ipmitool(base + 1, ['chassis', 'bootdev', 'pxe', 'options=persistent']);
      const sys = (await (await fetch(url, { headers: auth })).json()) as {
        PowerState: string;
        Boot: Record<string, string>;
      };
      expect(sys.PowerState).toBe('On');
      expect(sys.Boot).toMatchObject({
        BootSourceOverrideTarget: 'Pxe',
        BootSourceOverrideEnabled: 'Continuous',
      });
    } finally {
      proc.kill('SIGTERM');
    }
    expect((await proc).exitCode).toBe(0);
  });

  it('--state keeps what ipmitool changed across a restart, as a BMC keeps its settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-serve-state-'));
    const state = join(dir, 'bmcs.sqlite');
    const base = await freePort();
    const args = ['--nodes', '2', '--base-port', String(base), '--state', state];
    const newAuth = ['-U', 'admin', '-P', 'n3w-secret'];
    try {
      const first = await serve(args);
      try {
        expect((await ipmitool(base + 1, ['power', 'on'])).ok).toBe(true);
        expect((await ipmitool(base + 1, ['chassis', 'bootdev', 'pxe', 'options=persistent'])).ok).toBe(true);
        expect((await ipmitool(base, ['user', 'set', 'password', '2', 'n3w-secret'])).ok).toBe(true);
        expect((await ipmitool(base, ['power', 'status'], newAuth)).out).toContain('Chassis Power is off');
      } finally {
        first.proc.kill('SIGTERM');
      }
      expect((await first.proc).exitCode).toBe(0);

      const second = await serve(args);
      try {
        // node-0: the password set over IPMI, not --password's default.
        expect((await ipmitool(base, ['power', 'status'])).ok).toBe(false);
        expect((await ipmitool(base, ['power', 'status'], newAuth)).out).toContain('Chassis Power is off');
        // node-1: on again (power restore policy "previous"), and still PXE, persistently.
        expect((await ipmitool(base + 1, ['power', 'status'])).out).toContain('Chassis Power is on');
        const boot = (await ipmitool(base + 1, ['chassis', 'bootparam', 'get', '5'])).out;
        expect(boot).toContain('Options apply to all future boots');
        expect(boot).toContain('Force PXE');
      } finally {
        second.proc.kill('SIGTERM');
      }
      expect((await second.proc).exitCode).toBe(0);

      // A file that is not a state database is refused by name, and left as it was.
      const junk = join(dir, 'junk.sqlite');
      const junkText = "not a database, but somebody's file\n".repeat(100);
      writeFileSync(junk, junkText);
      const r = await execa('node', [BIN, 'bmc', 'serve', '--base-port', String(base), '--state', junk], {
        reject: false,
      });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(junk);
      expect(r.stderr).toMatch(/not a usable lab state database/);
      expect(readFileSync(junk, 'utf8')).toBe(junkText);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad option names the field and exits 2', async () => {
    const r = await execa('node', [BIN, 'bmc', 'serve', '--nodes', 'many'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('nodes');
    const v = await execa('node', [BIN, 'bmc', 'serve', '--vendor', 'acme'], { reject: false });
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toMatch(/vendor: unknown vendor profile 'acme'/);
  });

  it('a port in use is reported, not a stack trace', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    try {
      const r = await execa('node', [BIN, 'bmc', 'serve', '--base-port', String(s.address().port)], {
        reject: false,
      });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/base-port: cannot listen on 127\.0\.0\.1:\d+: is in use/);
    } finally {
      s.close();
    }
  });
});
