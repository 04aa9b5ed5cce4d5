/**
 * A real QEMU machine (TCG) inspected and deployed by a real Ironic 21.4 + ironic-inspector from
 * Debian: `bmlab run enroll-inspect-deploy --ironic real --backend qemu --nodes 1`. The inspected
 * properties are what the guest measured and must equal the VM's configuration (1 vCPU, 512 MiB,
 * 4 GiB disk → local_gb 3); the deployed image's console line carries the sha256 of its own disk.
 *
 * Ironic and inspector come from Debian's packages, which `npm run test:ironic` installs
 * (scripts/system-deps.sh --ironic); .ci/run runs `test:qemu` after `test:ironic`, so they are there
 * by then. Elsewhere (no packages, not root) this test is skipped.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRealInspector, hasRealIronic } from '../../lab/src/index.ts';
import { ensureImages } from '../../vm-fleet/src/qemu/index.ts';
import { hasCommand } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));
const canRun = hasRealIronic && hasRealInspector && process.getuid?.() === 0 && hasCommand('ipmitool');

interface RunJson {
  ok: boolean;
  ironic: string;
  backend: string;
  assertions: { node?: string; name: string; ok: boolean; message: string }[];
}

describe.skipIf(!canRun)('real Ironic + inspector deploy a real QEMU machine', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-real-'));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('enroll → inspect (in-band, real inspector) → deploy → the image boots from disk', async () => {
    const report = join(dir, 'report');
    const t0 = Date.now();
    const argv = ['run', 'enroll-inspect-deploy', '--ironic', 'real', '--backend', 'qemu', '--nodes', '1'];
    const r = await execa(process.execPath, [BIN, ...argv, '--report', report], {
      reject: false,
      all: true,
      timeout: 600_000,
    });
    console.log(`bmlab ${argv.join(' ')}: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.exitCode, r.all).toBe(0);
    const run = JSON.parse(await readFile(join(report, 'run.json'), 'utf8')) as RunJson;
    expect(run.ok).toBe(true);
    expect(run.backend).toBe('qemu');
    const check = (name: string) => run.assertions.find((a) => a.name === name && a.node === 'node-0');
    // Ironic's properties after inspection are the guest's own measurements of the VM.
    expect(check('inspected cpus')).toMatchObject({ ok: true, message: 'cpus 1, spec 1' });
    expect(check('inspected memory')).toMatchObject({ ok: true, message: 'memory_mb 512, spec 512' });
    expect(check('inspected disk')).toMatchObject({ ok: true, message: 'local_gb 3, spec 3' });
    expect(check('inspected arch')).toMatchObject({ ok: true });
    // The node's console shows the deployed image's marker, with the digest of the disk it booted.
    expect(check('console shows the image')?.ok).toBe(true);
    expect(check('console shows the image')?.message).toMatch(/DEPLOYED-IMAGE-BOOTED .*sha256=[0-9a-f]{64}/);
    expect(check('booted from disk')?.ok).toBe(true);
  }, 660_000);
});
