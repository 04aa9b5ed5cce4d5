/**
 * `bmlab up --detach`, `bmlab status`, `bmlab down` as a user runs them: the lab comes up from a
 * lab.yaml, serves its BMCs and API, and `down` leaves no process and no socket behind.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hasCommand, ipmitool } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));

async function freeTcp(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof a === 'object' && a !== null ? a.port : 0;
}

async function udpFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, '127.0.0.1', res);
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

async function tcpFree(port: number): Promise<boolean> {
  const s = createServer();
  try {
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.listen(port, '127.0.0.1', res);
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

describe.skipIf(!hasCommand('ipmitool'))('bmlab up / status / down', () => {
  it('brings a lab up from lab.yaml and takes it down without leftovers', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-up-'));
    const [bmcPort, http, ironic, api, redfish] = [
      await freeTcp(),
      await freeTcp(),
      await freeTcp(),
      await freeTcp(),
      await freeTcp(),
    ];
    writeFileSync(
      join(dir, 'lab.yaml'),
      `nodes:\n  - name: web-1\n  - name: db-1\n    vendor: dell\nstateDir: ./state\nbmc: { basePort: ${bmcPort} }\nhttpBoot: { port: ${http} }\nironicPort: ${ironic}\napi: { port: ${api} }\nredfish: { port: ${redfish} }\n`,
    );
    const upRun = await execa('node', [BIN, 'up', '--detach'], { cwd: dir, reject: false });
    expect(upRun.exitCode, upRun.stderr).toBe(0);
    const { pid } = JSON.parse(readFileSync(join(dir, 'state', 'lab.json'), 'utf8')) as { pid: number };
    try {
      const st = await execa('node', [BIN, 'status'], { cwd: dir });
      expect(st.stdout).toMatch(new RegExp(`web-1\\s+off\\s+-\\s+off\\s+-\\s+127\\.0\\.0\\.1:${bmcPort}`));
      expect(st.stdout).toMatch(new RegExp(`db-1 .*127\\.0\\.0\\.1:${bmcPort + 1}`));
      expect((await ipmitool(bmcPort + 1, ['mc', 'info'])).out).toMatch(/Dell Inc/);
      expect((await ipmitool(bmcPort, ['power', 'on'])).ok).toBe(true);
      expect((await execa('node', [BIN, 'status'], { cwd: dir })).stdout).toMatch(/web-1\s+on\s/);
      const nodes = (await (await fetch(`http://127.0.0.1:${api}/v1/nodes`)).json()) as {
        nodes: { name: string }[];
      };
      expect(nodes.nodes.map((n) => n.name)).toEqual(['web-1', 'db-1']);
      expect((await fetch(`http://127.0.0.1:${ironic}/v1`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${api}/openapi.json`)).status).toBe(200);
      const sys = await fetch(`http://127.0.0.1:${redfish}/redfish/v1/Systems/web-1`, {
        headers: { Authorization: `Basic ${Buffer.from('admin:password').toString('base64')}` },
      });
      expect(((await sys.json()) as { PowerState: string }).PowerState).toBe('On');
    } finally {
      const d = await execa('node', [BIN, 'down'], { cwd: dir, reject: false });
      expect(d.stdout).toContain(`lab stopped (pid ${pid})`);
    }
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await udpFree(bmcPort)).toBe(true);
    expect(await udpFree(bmcPort + 1)).toBe(true);
    for (const p of [http, ironic, api, redfish]) expect(await tcpFree(p)).toBe(true);
    expect((await execa('node', [BIN, 'status'], { cwd: dir, reject: false })).exitCode).toBe(1);
  });

  it('a bad lab.yaml is refused with the field named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-up-'));
    writeFileSync(join(dir, 'lab.yaml'), 'nodes:\n  - name: a\n    cpus: lots\n');
    const r = await execa('node', [BIN, 'up', 'lab.yaml'], { cwd: dir, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/nodes\[0\]\.cpus: must be a whole number/);
  });
});
