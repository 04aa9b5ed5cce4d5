/**
 * `bmlab run enroll-inspect-deploy --backend qemu --nodes 1` as a user runs it: one real QEMU machine
 * (TCG) against mock Ironic, through PXE → iPXE → the agent ramdisk → in-band inspection with what the
 * guest measured → write_image by the in-guest relay's dd → boot from disk, exit 0. One node only:
 * under TCG every VM costs a host core.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImages } from '../../vm-fleet/src/qemu/index.ts';
import { hasCommand } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));

interface RunJson {
  ok: boolean;
  backend: string;
  nodes: { node: string; ok: boolean; provisionStates: string[]; booted: string; bootDevice: string }[];
  assertions: { node?: string; name: string; ok: boolean; message: string }[];
}

describe.skipIf(!hasCommand('ipmitool'))('bmlab run --backend qemu (real QEMU, mock Ironic)', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureImages();
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-run-'));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('enroll-inspect-deploy on one QEMU machine passes and exits 0', async () => {
    const report = join(dir, 'report');
    const t0 = Date.now();
    const r = await execa(
      process.execPath,
      [BIN, 'run', 'enroll-inspect-deploy', '--backend', 'qemu', '--nodes', '1', '--report', report],
      { reject: false, all: true, timeout: 420_000, env: { BMLAB_LOG: 'warn' } },
    );
    console.log(
      `bmlab run --backend qemu --nodes 1: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/1 qemu nodes/);
    const run = JSON.parse(await readFile(join(report, 'run.json'), 'utf8')) as RunJson;
    expect(run.ok).toBe(true);
    expect(run.backend).toBe('qemu');
    const node = run.nodes[0];
    expect(node?.provisionStates).toEqual(
      expect.arrayContaining([
        'inspecting',
        'inspect wait',
        'manageable',
        'deploying',
        'active',
        'available',
      ]),
    );
    // What the machine itself showed: its console printed the sha256 of its own disk, which is the image's.
    const names = run.assertions.filter((a) => a.node === 'node-0' && a.ok).map((a) => a.name);
    expect(names).toEqual(
      expect.arrayContaining(['booted from disk', 'disk holds the image', 'console shows the image']),
    );
  }, 480_000);
});
