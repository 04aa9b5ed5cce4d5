/**
 * `bmlab up lab.yaml` with a qemu node, as a user runs it: the lab comes up in the background,
 * `bmlab status` lists the node, the whole enroll → inspect → deploy flow runs against the lab's mock
 * Ironic with the node's BMC driving the real VM, the inspected properties are the VM's own
 * measurements (equal to lab.yaml), and `bmlab down` leaves no QEMU process behind. With root and
 * dnsmasq (CI) the node sits on a bridge in the lab's own namespace (network.mode: bridge): the lab's
 * DHCP, RA and HTTP on the segment; without, on QEMU user networking.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinScenarios, runScenario } from '../../scenarios/src/index.ts';
import { ensureImages } from '../../vm-fleet/src/qemu/index.ts';
import { hasCommand } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));
const IMAGES = fileURLToPath(new URL('../../.bmlab/images', import.meta.url));

function hasDnsmasq(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v dnsmasq || test -x /usr/sbin/dnsmasq'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const mode = process.getuid?.() === 0 && hasDnsmasq() ? 'bridge' : 'user';

/** PIDs of QEMU processes whose command line names `dir` (this lab's state directory). */
async function qemuProcessesUnder(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('qemu-system') && cmd.includes(dir)) out.push(Number(p));
  }
  return out;
}

describe.skipIf(!hasCommand('ipmitool'))(`bmlab up with a qemu node (network ${mode})`, () => {
  let dir: string;
  const bmlab = (...args: string[]) =>
    execa(process.execPath, [BIN, ...args], {
      reject: false,
      all: true,
      cwd: dir,
      timeout: 240_000,
      // The images the suite already built, not a second build into this lab's state directory.
      env: { BMLAB_IMAGES: IMAGES },
    });

  beforeAll(async () => {
    await ensureImages(IMAGES);
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-up-'));
  });
  afterAll(async () => {
    if (dir === undefined) return;
    await bmlab('down', '--state-dir', join(dir, 'state'));
    await rm(dir, { recursive: true, force: true });
  });

  it('up → status → enroll/inspect/deploy through the BMC → down leaves no QEMU', async () => {
    await writeFile(
      join(dir, 'lab.yaml'),
      [
        'backend: qemu',
        'nodes:',
        '  - name: q0',
        '    cpus: 1',
        '    memoryMiB: 384',
        '    disks: [{ name: vda, sizeGiB: 5 }]',
        `network: { mode: ${mode} }`,
        `stateDir: ${join(dir, 'state')}`,
        'bmc: { basePort: 0 }',
        'httpBoot: { port: 0 }',
        'ironicPort: 0',
        'api: { port: 0 }',
        '',
      ].join('\n'),
    );
    const up = await bmlab('up', 'lab.yaml', '--detach');
    expect(up.exitCode, up.all).toBe(0);
    const running = JSON.parse(await readFile(join(dir, 'state', 'lab.json'), 'utf8')) as {
      apiUrl: string;
      ironicUrl: string;
    };
    const status = await bmlab('status', '--state-dir', join(dir, 'state'));
    expect(status.exitCode, status.all).toBe(0);
    expect(status.all).toMatch(/^q0\s+off\s.*\sqemu$/m);

    const t0 = Date.now();
    const record = await runScenario(builtinScenarios['enroll-inspect-deploy']!, {
      ironicUrl: running.ironicUrl,
      ironicLabel: 'mock',
      labUrl: running.apiUrl,
      nodes: 1,
      backend: 'qemu',
      pollMs: 500,
    });
    console.log(`bmlab up (${mode}): enroll-inspect-deploy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const failed = record.assertions.filter((a) => !a.ok);
    expect(failed).toEqual([]);
    expect(record.ok).toBe(true);

    // The inventory mock Ironic stored is what the guest measured: the VM of lab.yaml.
    const headers = { 'x-openstack-ironic-api-version': '1.81' };
    const node = (await (await fetch(`${running.ironicUrl}/v1/nodes/q0`, { headers })).json()) as {
      properties: { cpus: number; memory_mb: number; local_gb: number; cpu_arch: string };
    };
    expect(node.properties).toMatchObject({ cpus: 1, memory_mb: 384, local_gb: 4, cpu_arch: 'x86_64' });
    // Which network the VM was on, as its NIC ROM printed it: the lab's segment or QEMU's NAT.
    const console_ = (await (await fetch(`${running.apiUrl}/v1/nodes/q0/console`)).json()) as {
      text: string;
    };
    expect(console_.text).toMatch(
      mode === 'bridge' ? /net0: 10\.77\.0\.\d+\/255\.255\.255\.0 gw 10\.77\.0\.1/ : /net0: 10\.0\.2\.15/,
    );

    const status2 = await bmlab('status', '--state-dir', join(dir, 'state'));
    expect(status2.all).toMatch(/^q0\s+off\s.*\sdisk\s/m);

    const down = await bmlab('down', '--state-dir', join(dir, 'state'));
    expect(down.exitCode, down.all).toBe(0);
    expect(await qemuProcessesUnder(dir)).toEqual([]);
  }, 400_000);
});
