/**
 * Every built-in scenario against mock Ironic on a sim fleet, and `bmlab run` as CI calls it:
 * exit codes, JUnit XML and the run record.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runInLab } from '../../lab/src/index.ts';
import { builtinScenarios, type RunRecord } from '../../scenarios/src/index.ts';
import { hasCommand } from '../support/bmc.ts';

const BIN = fileURLToPath(new URL('../../bin/bmlab.mjs', import.meta.url));

describe.skipIf(!hasCommand('ipmitool'))('built-in scenarios against mock Ironic', () => {
  it.each(Object.keys(builtinScenarios))('%s passes on 2 sim nodes', { timeout: 120_000 }, async (name) => {
    const scenario = builtinScenarios[name];
    if (scenario === undefined) throw new Error(name);
    const lines: string[] = [];
    const record = await runInLab({
      scenario,
      ironic: 'mock',
      backend: 'sim',
      nodes: 2,
      out: (l) => lines.push(l),
    });
    const failed = record.assertions.filter((a) => !a.ok);
    expect(failed, lines.join('\n')).toEqual([]);
    expect(record.ok).toBe(true);
    expect(record.nodes.map((n) => n.node)).toEqual(['node-0', 'node-1']);
    for (const n of record.nodes) {
      expect(n.provisionStates.length).toBeGreaterThan(0);
      expect(n.ipmiCommands).toBeGreaterThan(0);
    }
    // The timeline holds what the lab saw, not only what the scenario did.
    const kinds = new Set(record.events.map((e) => e.kind));
    for (const k of ['provision', 'ipmi', 'api', 'step'] as const) expect(kinds).toContain(k);
  });
});

describe.skipIf(!hasCommand('ipmitool'))('bmlab run', () => {
  it('exits 0 on a pass and writes JUnit XML, an HTML report and the run record', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-report-'));
    const r = await execa('node', [BIN, 'run', 'enroll-inspect-deploy', '--nodes', '2', '--report', dir], {
      reject: false,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS enroll-inspect-deploy/);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)?.length).toBeGreaterThanOrEqual(2);
    expect(junit).not.toContain('<failure');
    const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
    expect(record.ok).toBe(true);
    expect(record.nodes[0]?.provisionStates).toEqual(
      expect.arrayContaining([
        'manageable',
        'inspecting',
        'available',
        'deploying',
        'wait call-back',
        'active',
      ]),
    );
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });

  it('exits 1 when a scenario from a path fails, and JUnit says which check', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmlab-report-'));
    const path = fileURLToPath(new URL('./fixtures/expects-too-much.ts', import.meta.url));
    const r = await execa('node', [BIN, 'run', path, '--report', dir], { reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL expects-too-much/);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/<failure[^>]*already active/);
  });

  it('an unknown scenario or a bad option exits 2 and says what is wrong', async () => {
    const r = await execa('node', [BIN, 'run', 'no-such-scenario'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/scenario: no built-in scenario 'no-such-scenario'/);
    const n = await execa('node', [BIN, 'run', 'enroll-inspect-deploy', '--nodes', 'zero'], {
      reject: false,
    });
    expect(n.exitCode).toBe(2);
    expect(n.stderr).toMatch(/nodes:/);
  });
});
