/**
 * A lab restart loses nothing for a qemu node: with a persistent UEFI boot override to disk set
 * through ipmitool and the node powered on, `bmlab down` and `bmlab up` on the same state directory
 * bring back the boot flags (`chassis bootparam get 5`), the power state (policy "previous": the node
 * powers on again with restart cause "restore-previous power policy"), a QEMU process booting the disk first
 * under OVMF, and the node's qcow2 disk, which lives in the state directory: the image on it boots
 * again. The image stands in for a deployed one (the deploy flow itself runs in lab-up.test.ts).
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYED_MARKER, ensureImages } from '../../vm-fleet/src/qemu/index.ts';
import { hasCommand, ipmitool } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));
const IMAGES = fileURLToPath(new URL('../../.bmlab/images', import.meta.url));

/** QEMU processes whose command line names `dir`, with their arguments. */
async function qemuProcessesUnder(dir: string): Promise<{ pid: number; args: string[] }[]> {
  const out: { pid: number; args: string[] }[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('qemu-system') && cmd.includes(dir)) out.push({ pid: Number(p), args: cmd.split('\0') });
  }
  return out;
}

/** bootindex of the `-device` with this id, undefined when it has none. */
function bootindex(args: readonly string[], id: string): number | undefined {
  const dev = args.find((a, i) => args[i - 1] === '-device' && a.includes(`,id=${id},`));
  const m = dev?.match(/bootindex=(\d+)/);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe.skipIf(!hasCommand('ipmitool') || !hasCommand('qemu-img'))('bmlab down/up with a qemu node', () => {
  let dir: string;
  let state: string;
  const bmlab = (...args: string[]) =>
    execa(process.execPath, [BIN, ...args], {
      reject: false,
      all: true,
      cwd: dir,
      timeout: 240_000,
      env: { BMLAB_IMAGES: IMAGES },
    });

  /** Starts the lab; returns its API URL and q0's IPMI port (port 0: new each start). */
  async function up(): Promise<{ apiUrl: string; port: number }> {
    const r = await bmlab('up', 'lab.yaml', '--detach');
    expect(r.exitCode, r.all).toBe(0);
    const { apiUrl } = JSON.parse(await readFile(join(state, 'lab.json'), 'utf8')) as { apiUrl: string };
    const { nodes } = (await (await fetch(`${apiUrl}/v1/nodes`)).json()) as {
      nodes: { name: string; bmc: { ipmi: { port: number } } }[];
    };
    const q0 = nodes.find((n) => n.name === 'q0');
    expect(q0).toBeDefined();
    return { apiUrl, port: q0?.bmc.ipmi.port ?? 0 };
  }

  const consoleText = async (apiUrl: string) =>
    ((await (await fetch(`${apiUrl}/v1/nodes/q0/console`)).json()) as { text: string }).text;

  beforeAll(async () => {
    const images = await ensureImages(IMAGES);
    dir = await mkdtemp(join(tmpdir(), 'bmlab-qemu-restart-'));
    state = join(dir, 'state');
    await writeFile(
      join(dir, 'lab.yaml'),
      [
        'backend: qemu',
        'nodes:',
        '  - name: q0',
        '    cpus: 1',
        '    memoryMiB: 256',
        '    disks: [{ name: vda, sizeGiB: 1 }]',
        'network: { mode: user }',
        `stateDir: ${state}`,
        'ironic: none',
        'bmc: { basePort: 0 }',
        'httpBoot: { port: 0 }',
        'api: { port: 0 }',
        '',
      ].join('\n'),
    );
    // What a deploy leaves: the image on the node's disk, which lives in the lab's state directory.
    const nodeDir = join(state, 'qemu', 'q0');
    await execa('mkdir', ['-p', nodeDir]);
    await execa('qemu-img', [
      'convert',
      '-q',
      '-f',
      'raw',
      '-O',
      'qcow2',
      images.deployImage,
      join(nodeDir, 'disk0.qcow2'),
    ]);
  });
  afterAll(async () => {
    if (dir === undefined) return;
    await bmlab('down', '--state-dir', state);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps boot flags, power and disk across down/up', async () => {
    const first = await up();
    const set = await ipmitool(first.port, ['chassis', 'bootdev', 'disk', 'options=persistent,efiboot']);
    expect(set.ok, set.out).toBe(true);
    const on = await ipmitool(first.port, ['power', 'on']);
    expect(on.ok, on.out).toBe(true);
    const before = await until('QEMU', async () => (await qemuProcessesUnder(state))[0], 30_000);
    await until(
      'the image on disk to boot',
      async () => ((await consoleText(first.apiUrl)).includes(DEPLOYED_MARKER) ? true : undefined),
      180_000,
    );
    const disk = await stat(join(state, 'qemu', 'q0', 'disk0.qcow2'));

    const down = await bmlab('down', '--state-dir', state);
    expect(down.exitCode, down.all).toBe(0);
    expect(await qemuProcessesUnder(state)).toEqual([]);

    const second = await up();
    const flags = await ipmitool(second.port, ['chassis', 'bootparam', 'get', '5']);
    expect(flags.ok, flags.out).toBe(true);
    expect(flags.out).toMatch(/Options apply to all future boots/);
    expect(flags.out).toMatch(/BIOS EFI boot/);
    expect(flags.out).toMatch(/Force Boot from default Hard-Drive/);
    const power = await ipmitool(second.port, ['power', 'status']);
    expect(power.out).toMatch(/Chassis Power is on/);
    const cause = await ipmitool(second.port, ['chassis', 'restart_cause']);
    expect(cause.out).toMatch(/power-up due to restore-previous power policy/);

    const after = await qemuProcessesUnder(state);
    expect(after).toHaveLength(1);
    const args = after[0]?.args ?? [];
    expect(after[0]?.pid).not.toBe(before.pid);
    // Disk first, under OVMF (UEFI: the firmware comes as pflash).
    const diskIndex = bootindex(args, 'disk0');
    const nicIndex = bootindex(args, 'nic0');
    expect(diskIndex).toBe(1);
    if (nicIndex !== undefined) expect(nicIndex).toBeGreaterThan(diskIndex ?? 0);
    expect(args.some((a) => a.startsWith('if=pflash'))).toBe(true);
    // The same qcow2 file, and the image on it boots again.
    expect((await stat(join(state, 'qemu', 'q0', 'disk0.qcow2'))).ino).toBe(disk.ino);
    await until(
      'the image on disk to boot again',
      async () => ((await consoleText(second.apiUrl)).includes(DEPLOYED_MARKER) ? true : undefined),
      180_000,
    );

    const down2 = await bmlab('down', '--state-dir', state);
    expect(down2.exitCode, down2.all).toBe(0);
    expect(await qemuProcessesUnder(state)).toEqual([]);
  }, 600_000);
});
