import { describe, expect, it } from 'vitest';
import { sampleRun } from './fixtures/records.ts';
import { textSummary } from './text.ts';

describe('textSummary', () => {
  it('prints the verdict, one aligned line per node and the totals', () => {
    expect(textSummary(sampleRun()).split('\n')).toEqual([
      'FAIL enroll-inspect-deploy (ironic mock, sim backend, 30.2 s)',
      '  ok    node-0  available      19.1 s',
      `  FAIL  node-1  deploy failed  29.6 s  deploy: timed out <waiting> for "active" & 'wait call-back' ]]> ?bell`,
      'nodes: 1 passed, 1 failed; assertions: 3 passed, 2 failed',
      '',
    ]);
  });

  it('keeps a long multi-line message on one line and escape sequences out of the terminal', () => {
    const base = sampleRun();
    const message = `line one\nline two \u001b[2J${'x'.repeat(400)}`;
    const out = textSummary({
      ...base,
      nodes: base.nodes.map((n) => (n.failure ? { ...n, failure: { step: 'deploy', message } } : n)),
    });
    const line = out.split('\n')[2]!;
    expect(line).toMatch(
      /^ {2}FAIL {2}node-1 {2}deploy failed {2}29\.6 s {2}deploy: line one line two \?\[2Jx+\.\.\.$/,
    );
    expect(line.length).toBeLessThan(200);
    expect(out).not.toContain('\u001b');
  });

  it('reports a run that failed outside every node', () => {
    const base = sampleRun();
    const out = textSummary({
      ...base,
      ok: false,
      nodes: [base.nodes[0]!],
      assertions: [{ name: 'fleet ready', ok: false, message: 'only 7 of 8 BMCs answered' }],
    });
    expect(out).toContain('\n  FAIL  (run)  assertion fleet ready: only 7 of 8 BMCs answered\n');
    expect(out).toContain('nodes: 1 passed, 0 failed; assertions: 0 passed, 1 failed');
  });

  it('says PASS when the run passed', () => {
    const base = sampleRun();
    const out = textSummary({ ...base, ok: true, nodes: [base.nodes[0]!], assertions: [] });
    expect(out.split('\n')[0]).toBe('PASS enroll-inspect-deploy (ironic mock, sim backend, 30.2 s)');
  });
});
