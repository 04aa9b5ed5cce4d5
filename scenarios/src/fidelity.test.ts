import { describe, expect, it } from 'vitest';
import { compareRuns, fidelityHtml, fidelityReport, fidelityText, phases } from './fidelity.ts';
import type { RunRecord } from './record.ts';

function run(states: string[], errors: string[] = [], ok = true): RunRecord {
  return {
    scenario: 's',
    description: '',
    ironic: 'x',
    backend: 'sim',
    startedAt: '2026-01-01T00:00:00Z',
    durationMs: 1000,
    ok,
    nodes: [{ node: 'node-0', ok, provisionStates: states, ipmiCommands: 0, durationMs: 1000 }],
    steps: [],
    assertions: [],
    events: errors.map((label, i) => ({ at: i, node: 'node-0', kind: 'api', label, ok: false })),
  };
}

describe('fidelity comparison', () => {
  it('splits states into phases ending in resting or failed states, each state once', () => {
    expect(
      phases(['enroll', 'verifying', 'manageable', 'deploying', 'wait call-back', 'deploying', 'active']),
    ).toEqual([['enroll'], ['verifying', 'manageable'], ['deploying', 'wait call-back', 'active']]);
    expect(phases(['inspecting', 'inspect wait', 'inspect failed', 'manageable'])).toEqual([
      ['inspecting', 'inspect wait', 'inspect failed'],
      ['manageable'],
    ]);
  });

  it('compares where lasting states come in a phase, not where a fleeting one was first polled', () => {
    // Undeploy with cleaning: `cleaning` comes before `clean wait` and again after each heartbeat.
    const same = compareRuns(
      run(['active', 'deleting', 'clean wait', 'cleaning', 'available']),
      run(['active', 'deleting', 'cleaning', 'clean wait', 'available']),
    );
    expect(same.differences).toEqual([]);
    const swapped = compareRuns(
      run(['manageable', 'inspect wait', 'inspecting', 'manageable']),
      run(['manageable', 'inspecting', 'inspect wait', 'manageable']),
    );
    expect(swapped.differences).toHaveLength(1);
    expect(swapped.differences[0]).toMatchObject({ kind: 'provision-states' });
  });

  it('does not count a fleeting state only one side polled, nor repeated heartbeat cycles', () => {
    const mock = run(['enroll', 'verifying', 'manageable', 'cleaning', 'available', 'deploying', 'active']);
    const real = run([
      'enroll',
      'manageable',
      'available',
      'deploying',
      'wait call-back',
      'deploying',
      'wait call-back',
      'active',
    ]);
    const c = compareRuns(mock, real);
    // wait call-back is not fleeting: the mock never showing it is a difference.
    expect(c.differences).toHaveLength(1);
    expect(c.differences[0]).toMatchObject({
      kind: 'provision-states',
      mock: 'enroll | manageable | available | deploying → active',
      real: 'enroll | manageable | available | deploying → wait call-back → active',
    });
    expect(c.differences[0]?.known).toBeUndefined();
    expect(c.nodes[0]?.fleetingOnly).toEqual({
      mock: ['verifying (phase 2)', 'cleaning (phase 3)'],
      real: [],
    });
  });

  it('compares API errors by route and status, and reads the known table', () => {
    const mock = run(['enroll'], ['PUT /v1/nodes/aaaa/states/provision → 400']);
    const real = run(['enroll'], ['PUT /v1/nodes/bbbb/states/provision → 409']);
    const unknown = compareRuns(mock, real, []);
    expect(unknown.differences.map((d) => [d.kind, d.mock, d.real])).toEqual([
      [
        'api-errors',
        'PUT /v1/nodes/{node}/states/provision → 400',
        'PUT /v1/nodes/{node}/states/provision → 409',
      ],
    ]);
    const known = compareRuns(mock, real, [
      { scenario: 's', kind: 'api-errors', mock: /→ 400/, real: /→ 409/, reason: 'because' },
    ]);
    expect(known.differences[0]?.known).toBe('because');
    const report = fidelityReport([unknown, known], 'now');
    expect(report).toMatchObject({ unexplained: 1, known: 1 });
    expect(fidelityText(report)).toContain('DIFFERENT node-0 api-errors');
    expect(fidelityHtml(report)).toContain('known — because');
  });

  it("compares Ironic's faultstrings too, with the runs' UUIDs taken out", () => {
    const withDetail = (uuid: string, detail: string): RunRecord => ({
      ...run(['enroll']),
      events: [
        {
          at: 0,
          node: 'node-0',
          kind: 'api',
          label: `PUT /v1/nodes/${uuid}/states/provision → 400`,
          detail,
          ok: false,
        },
      ],
    });
    const a = '6ac22b0a-feb0-4279-9513-42c53cb3b1e0';
    const b = '8728479f-1d25-4af9-9ea6-0645a21ff459';
    const msg = (u: string) =>
      `The requested action "active" can not be performed on node "${u}" while it is in state "enroll".`;
    expect(compareRuns(withDetail(a, msg(a)), withDetail(b, msg(b))).differences).toEqual([]);
    const d = compareRuns(withDetail(a, msg(a)), withDetail(b, 'Cannot patch /provision_state.')).differences;
    expect(d.map((x) => x.kind)).toEqual(['api-errors']);
  });

  it("lists checks whose message differs, with the runs' UUIDs taken out, without counting them", () => {
    const withCheck = (message: string): RunRecord => ({
      ...run(['enroll']),
      assertions: [{ name: 'last_error', node: 'node-0', ok: true, message }],
    });
    const same = compareRuns(
      withCheck('Timeout for node 6ac22b0a-feb0-4279-9513-42c53cb3b1e0'),
      withCheck('Timeout for node 8728479f-1d25-4af9-9ea6-0645a21ff459'),
    );
    expect(same.nodes[0]?.checkMessages).toEqual([]);
    const other = compareRuns(withCheck('IPMI call failed'), withCheck('IPMI call failed: power status.'));
    expect(other.nodes[0]?.checkMessages).toEqual([
      { name: 'last_error', mock: 'IPMI call failed', real: 'IPMI call failed: power status.' },
    ]);
    expect(other.differences).toEqual([]);
  });

  it('reports a node that passed on one side and failed on the other', () => {
    const c = compareRuns(run(['enroll'], [], true), run(['enroll'], [], false));
    expect(c.differences.map((d) => d.kind)).toEqual(['outcome']);
  });
});
