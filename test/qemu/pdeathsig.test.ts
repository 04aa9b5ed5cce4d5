import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, it } from 'vitest';

/** Alive means present and not a zombie waiting for init to reap it. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

it('a QEMU child dies when the Node process that started it is killed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bmlab-orphan-'));
  const parent = execa(
    'node',
    ['--import', 'tsx', fileURLToPath(new URL('fixtures/parent.ts', import.meta.url)), dir],
    {
      reject: false,
    },
  );
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /qemu-pid (\d+)/.exec(out);
        if (m?.[1] !== undefined) resolve(Number(m[1]));
      });
      void parent.then((r) => reject(new Error(`parent exited: ${r.stderr}`)));
    });
    expect(alive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('qemu-system-x86_64');
    parent.kill('SIGKILL');
    await parent;
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  } finally {
    parent.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
