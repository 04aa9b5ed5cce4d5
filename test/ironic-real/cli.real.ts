/**
 * `bmlab ironic real up|status|down`: real Ironic + inspector started in the background for a lab's
 * state directory (files under <state>/ironic, nothing under /etc), found again by `status`, stopped
 * by `down`; refused without root. Run with `npm run test:ironic`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { hasRealInspector, hasRealIronic } from './real-ironic.ts';

const BIN = join(import.meta.dirname, '../../bin/bmlab.mjs');
const state = mkdtempSync(join(tmpdir(), 'bmlab-real-cli-'));

afterAll(async () => {
  await execa('node', [BIN, 'ironic', 'real', 'down', '--state-dir', state], { reject: false });
  rmSync(state, { recursive: true, force: true });
});

/** Running, and not a zombie waiting for a reaper (`up` has exited, so its children were reparented). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(!hasRealIronic || !hasRealInspector)('bmlab ironic real', () => {
  it('up starts Ironic + inspector in the background with their files in the state dir; down stops them', async () => {
    const etc = existsSync('/etc/ironic/ironic.conf')
      ? readFileSync('/etc/ironic/ironic.conf', 'utf8')
      : null;
    const up = await execa('node', [
      BIN,
      ...['ironic', 'real', 'up', '--state-dir', state, '--port', '0'],
      ...['--http-url', 'http://127.0.0.1:8088', '--inspector-timeout', '30'],
    ]);
    console.log(up.stdout);
    expect(up.stdout).toMatch(/^real Ironic http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/);
    expect(up.stdout).toMatch(/ramdisk callback http:\/\/10\.77\.0\.1:\d+\/v1\/continue/);
    const run = JSON.parse(readFileSync(join(state, 'ironic', 'real-ironic.json'), 'utf8')) as {
      url: string;
      inspectorUrl: string;
      pids: { ironic: number; inspector: number };
    };
    // Both answer after `up` has exited.
    const drivers = (await (await fetch(`${run.url}/v1/drivers`)).json()) as { drivers: { name: string }[] };
    expect(drivers.drivers.map((d) => d.name).sort()).toEqual([
      'fake-hardware',
      'ipmi',
      'manual-management',
      'redfish',
    ]);
    expect((await fetch(`${run.inspectorUrl}/`)).ok).toBe(true);
    const conf = readFileSync(join(state, 'ironic', 'ironic.conf'), 'utf8');
    expect(conf).toContain(`http_root = ${join(state, 'httpboot')}`);
    expect(conf).toContain(`connection = sqlite:///${join(state, 'ironic')}/ironic.sqlite`);
    expect(readFileSync(join(state, 'ironic', 'inspector', 'inspector.conf'), 'utf8')).toContain(
      'timeout = 30',
    );

    const st = await execa('node', [BIN, 'ironic', 'real', 'status', '--state-dir', state]);
    expect(st.stdout).toContain(`pid ${run.pids.ironic}`);
    const again = await execa('node', [BIN, 'ironic', 'real', 'up', '--state-dir', state, '--port', '0'], {
      reject: false,
    });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('already runs');

    const down = await execa('node', [BIN, 'ironic', 'real', 'down', '--state-dir', state]);
    expect(down.stdout).toContain('stopped');
    expect(alive(run.pids.ironic) || alive(run.pids.inspector)).toBe(false);
    expect(
      (await execa('node', [BIN, 'ironic', 'real', 'status', '--state-dir', state], { reject: false }))
        .exitCode,
    ).toBe(1);
    // The system-wide configuration was not touched.
    expect(
      existsSync('/etc/ironic/ironic.conf') ? readFileSync('/etc/ironic/ironic.conf', 'utf8') : null,
    ).toBe(etc);
  }, 120_000);

  it('bmlab fidelity: names checked before any run, options kept with their scenario', async () => {
    const bad = await execa(
      'node',
      [BIN, 'fidelity', '--scenarios', 'enroll-inspect-deploy:driver=redfish,nope'],
      {
        reject: false,
      },
    );
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("no built-in scenario 'nope'");
    const badOpt = await execa('node', [BIN, 'fidelity', '--scenarios', 'enroll-inspect-deploy:driver=x'], {
      reject: false,
    });
    expect(badOpt.exitCode).toBe(2);
    expect(badOpt.stderr).toContain('option driver is one of ipmi, redfish');
  });

  it('refuses clearly without root', async () => {
    const r = await execa(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'node',
        BIN,
        'ironic',
        'real',
        'up',
        '--state-dir',
        join(tmpdir(), 'bmlab-nobody'),
        '--http-url',
        'http://127.0.0.1:1',
      ],
      { reject: false },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('real Ironic needs root');
  });
});
