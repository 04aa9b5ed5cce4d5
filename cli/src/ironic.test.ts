import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const BMLAB = join(import.meta.dirname, '..', '..', 'bin', 'bmlab.mjs');

describe('bmlab ironic serve', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('takes the conductor options as flags and writes what the conductor did at exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-ironic-serve-'));
    dirs.push(dir);
    const statsFile = join(dir, 'stats.json');
    const proc = spawn(
      process.execPath,
      [
        BMLAB,
        'ironic',
        'serve',
        '--port',
        '0',
        '--state-dir',
        dir,
        '--min-command-interval',
        '1',
        '--automated-clean',
        'false',
        '--sync-power-state-interval',
        '0',
        '--stats-file',
        statsFile,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let url: string | undefined;
    for await (const line of createInterface({ input: proc.stdout })) {
      url ??= /^mock Ironic (\S+)/.exec(line)?.[1];
      if (line === 'ready') break;
    }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const created = await fetch(`${url}/v1/nodes`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-OpenStack-Ironic-API-Version': '1.82' },
      body: JSON.stringify({ driver: 'ipmi', name: 'n0' }),
    });
    expect(created.status).toBe(201);
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    expect((await exited)[0]).toBe(0);
    const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
    expect(stats).toMatchObject({
      ipmi: { runs: 0, failures: 0, execMs: 0, throttleMs: 0, bySubcommand: {} },
      heartbeats: { received: 0, processed: 0, skippedLocked: 0 },
      agentCommands: 0,
    });
    expect(stats.eventLoopDelay.maxMs).toBeGreaterThan(0);
  }, 30_000);

  /** `bmlab ironic serve` with these flags: its exit code and what it wrote to stderr. */
  async function serve(...flags: string[]): Promise<{ code: number; err: string }> {
    const proc = spawn(process.execPath, [BMLAB, 'ironic', 'serve', ...flags], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d) => {
      err += String(d);
    });
    const [code] = await once(proc, 'exit');
    return { code: code as number, err };
  }

  it('refuses a flag that is not a number of seconds, naming it', async () => {
    const { code, err } = await serve('--min-command-interval', 'soon');
    expect(code).toBe(2);
    expect(err).toContain('min-command-interval');
    expect(err).toContain("'soon' is not a number of seconds");
  }, 30_000);

  it('refuses an unknown --ipmitool-oem-list, naming the flag', async () => {
    const { code, err } = await serve('--ipmitool-oem-list', 'full');
    expect(code).toBe(2);
    expect(err).toContain("ipmitool-oem-list: 'full' is not short or system");
  }, 30_000);
});
