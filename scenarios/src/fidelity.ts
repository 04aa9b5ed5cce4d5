/**
 * Fidelity: the same scenario run against the mock and against real Ironic, compared node by node —
 * the provision states each node went through and the API errors the scenario got (status code and
 * Ironic's faultstring). A difference is
 * either fixed in the mock or listed in `KNOWN_DIFFERENCES` with its reason; only unlisted ones fail.
 *
 * Provision states are observed by polling, so a state that lasts less than a poll can be missed on
 * either side, and how often a node alternates between, say, `deploying` and `wait call-back`
 * depends on heartbeat timing. The comparison therefore works on phases: the states between two
 * resting states (enroll, manageable, available, active, or a failure), each counted once, in the
 * order first seen. States that real Ironic holds for a few milliseconds are compared only when both
 * sides saw them (`FLEETING`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from './record.ts';
import { html as escapeHtml } from './report/escape.ts';

export type DifferenceKind = 'provision-states' | 'api-errors' | 'outcome';

export interface KnownDifference {
  /** The scenario (name before any `:options`), or `*`. */
  readonly scenario: string;
  readonly kind: DifferenceKind;
  /** Matches the difference's mock side and real side (as rendered in the report). */
  readonly mock: RegExp;
  readonly real: RegExp;
  readonly reason: string;
}

/**
 * Real Ironic passes through these in well under a poll (ironic.md §6: provide without cleaning
 * spends 0.02 s in `cleaning`); whether a poll catches them is luck on either side.
 */
export const FLEETING: ReadonlySet<string> = new Set(['cleaning', 'deleting', 'verifying', 'deploying']);

const RESTING = new Set(['enroll', 'manageable', 'available', 'active']);

/** Differences the comparison accepts, with the reason. Add here only what the mock cannot or should not copy. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [];

export interface Difference {
  readonly scenario: string;
  readonly node: string;
  readonly kind: DifferenceKind;
  readonly mock: string;
  readonly real: string;
  /** Why the difference is accepted, when it is a known one. */
  readonly known?: string;
}

export interface ScenarioComparison {
  readonly scenario: string;
  readonly mock: { readonly ok: boolean; readonly durationMs: number };
  readonly real: { readonly ok: boolean; readonly durationMs: number };
  readonly nodes: readonly {
    readonly node: string;
    readonly mockStates: readonly string[];
    readonly realStates: readonly string[];
    readonly mockErrors: readonly string[];
    readonly realErrors: readonly string[];
    /**
     * Checks whose message differs (UUIDs taken out), e.g. a last_error worded otherwise: listed, not
     * counted (a check that fails on one side only already makes the outcome differ).
     */
    readonly checkMessages: readonly {
      readonly name: string;
      readonly mock: string;
      readonly real: string;
    }[];
    /** Fleeting states only one side was seen in (not a difference; shows how long each side holds them). */
    readonly fleetingOnly: { readonly mock: readonly string[]; readonly real: readonly string[] };
  }[];
  readonly differences: readonly Difference[];
}

export interface FidelityReport {
  readonly startedAt: string;
  readonly scenarios: readonly ScenarioComparison[];
  /** Differences not in the known table: each one fails the comparison. */
  readonly unexplained: number;
  readonly known: number;
}

/** A node's provision states as phases (see the module comment). */
export function phases(states: readonly string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  for (const s of states) {
    if (!cur.includes(s)) cur.push(s);
    if (RESTING.has(s) || s.endsWith('failed') || s === 'error') {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Both phase lists with the fleeting states only one side saw taken out. */
function alignFleeting(a: string[][], b: string[][]): [string[][], string[][]] {
  const keep = (p: string[], other: string[] | undefined) =>
    p.filter((s) => !FLEETING.has(s) || (other?.includes(s) ?? false));
  return [a.map((p, i) => keep(p, b[i])), b.map((p, i) => keep(p, a[i]))];
}

const render = (ph: string[][]) => ph.map((p) => p.join(' → ')).join(' | ');

/**
 * What two runs must share: each phase's lasting states in order, and its fleeting states (seen on
 * both sides) in any order. A fleeting state recurs — `cleaning` ↔ `clean wait` on every heartbeat —
 * and a poll may catch any one of its passes, so where it first shows up in a phase is luck.
 */
const compared = (ph: string[][]) =>
  ph
    .map((p) => {
      const fleeting = p.filter((s) => FLEETING.has(s)).sort();
      return `${p.filter((s) => !FLEETING.has(s)).join(' → ')} {${fleeting.join(', ')}}`;
    })
    .join(' | ');

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * `PUT /v1/nodes/{node}/states/provision → 400: <faultstring>`: the API errors of one node, in
 * order, with UUIDs (which differ between the runs) replaced.
 */
function apiErrors(rec: RunRecord, node: string): string[] {
  return rec.events
    .filter((e) => e.kind === 'api' && e.ok === false && e.node === node)
    .map((e) =>
      `${e.label}${e.detail === undefined ? '' : `: ${e.detail}`}`
        .replace(/\/v1\/nodes\/[^/\s]+/, '/v1/nodes/{node}')
        .replace(/\/v1\/ports\/[^/\s]+/, '/v1/ports/{port}')
        .replace(UUID, '{uuid}'),
    );
}

function baseName(scenario: string): string {
  return scenario.split(':')[0] ?? scenario;
}

function classify(d: Omit<Difference, 'known'>, known: readonly KnownDifference[]): Difference {
  const k = known.find(
    (x) =>
      (x.scenario === '*' || x.scenario === baseName(d.scenario)) &&
      x.kind === d.kind &&
      x.mock.test(d.mock) &&
      x.real.test(d.real),
  );
  return k === undefined ? d : { ...d, known: k.reason };
}

/** Compares one scenario's mock run with its real run. */
export function compareRuns(
  mock: RunRecord,
  real: RunRecord,
  known: readonly KnownDifference[] = KNOWN_DIFFERENCES,
): ScenarioComparison {
  const scenario = mock.scenario;
  const differences: Difference[] = [];
  const names = [...new Set([...mock.nodes.map((n) => n.node), ...real.nodes.map((n) => n.node)])];
  // Calls not about one node (a create that failed, a name that does not exist) count as the run's.
  if ([mock, real].some((r) => r.events.some((e) => e.kind === 'api' && e.ok === false && e.node === '')))
    names.push('');
  const nodes = names.map((node) => {
    const m = mock.nodes.find((n) => n.node === node);
    const r = real.nodes.find((n) => n.node === node);
    const mockStates = m?.provisionStates ?? [];
    const realStates = r?.provisionStates ?? [];
    const [mp, rp] = alignFleeting(phases(mockStates), phases(realStates));
    const dropped = (all: string[][], kept: string[][]) =>
      all.flatMap((p, i) =>
        p.filter((st) => !(kept[i] ?? []).includes(st)).map((st) => `${st} (phase ${i + 1})`),
      );
    const fleetingOnly = {
      mock: dropped(phases(mockStates), mp),
      real: dropped(phases(realStates), rp),
    };
    if (compared(mp) !== compared(rp))
      differences.push(
        classify({ scenario, node, kind: 'provision-states', mock: render(mp), real: render(rp) }, known),
      );
    const mockErrors = apiErrors(mock, node);
    const realErrors = apiErrors(real, node);
    if (mockErrors.join('\n') !== realErrors.join('\n'))
      differences.push(
        classify(
          {
            scenario,
            node,
            kind: 'api-errors',
            mock: mockErrors.join('; ') || '(none)',
            real: realErrors.join('; ') || '(none)',
          },
          known,
        ),
      );
    const mo = m === undefined ? 'absent' : m.ok ? 'passed' : `failed: ${m.failure?.step ?? ''}`;
    const ro = r === undefined ? 'absent' : r.ok ? 'passed' : `failed: ${r.failure?.step ?? ''}`;
    if (mo !== ro) differences.push(classify({ scenario, node, kind: 'outcome', mock: mo, real: ro }, known));
    const checks = (rec: RunRecord) =>
      new Map(
        rec.assertions
          .filter((a) => (a.node ?? '') === node)
          .map((a) => [a.name, a.message.replace(UUID, '{uuid}')]),
      );
    const mc = checks(mock);
    const rc = checks(real);
    const checkMessages = [...mc]
      .filter(([name, msg]) => rc.has(name) && rc.get(name) !== msg)
      .map(([name, msg]) => ({ name, mock: msg, real: rc.get(name) ?? '' }));
    return { node, mockStates, realStates, mockErrors, realErrors, checkMessages, fleetingOnly };
  });
  return {
    scenario,
    mock: { ok: mock.ok, durationMs: mock.durationMs },
    real: { ok: real.ok, durationMs: real.durationMs },
    nodes,
    differences,
  };
}

export function fidelityReport(scenarios: readonly ScenarioComparison[], startedAt: string): FidelityReport {
  const all = scenarios.flatMap((s) => s.differences);
  return {
    startedAt,
    scenarios,
    unexplained: all.filter((d) => d.known === undefined).length,
    known: all.filter((d) => d.known !== undefined).length,
  };
}

export function fidelityText(r: FidelityReport): string {
  const lines = [
    `Fidelity: mock vs real Ironic, ${r.scenarios.length} scenario(s), ${r.unexplained} unexplained difference(s), ${r.known} known`,
  ];
  for (const s of r.scenarios) {
    lines.push(
      '',
      `${s.scenario}: mock ${s.mock.ok ? 'PASS' : 'FAIL'} ${(s.mock.durationMs / 1000).toFixed(1)} s, real ${s.real.ok ? 'PASS' : 'FAIL'} ${(s.real.durationMs / 1000).toFixed(1)} s`,
    );
    for (const n of s.nodes) {
      lines.push(`  ${n.node || '(run)'}`);
      lines.push(`    mock states: ${n.mockStates.join(' → ')}`);
      lines.push(`    real states: ${n.realStates.join(' → ')}`);
      for (const side of ['mock', 'real'] as const)
        if (n.fleetingOnly[side].length > 0)
          lines.push(`    fleeting, seen by ${side} only: ${n.fleetingOnly[side].join(', ')}`);
      for (const c of n.checkMessages)
        lines.push(`    check "${c.name}" worded otherwise: mock "${c.mock}", real "${c.real}"`);
      if (n.mockErrors.length + n.realErrors.length > 0) {
        lines.push(`    mock API errors: ${n.mockErrors.join('; ') || '(none)'}`);
        lines.push(`    real API errors: ${n.realErrors.join('; ') || '(none)'}`);
      }
    }
    for (const d of s.differences) {
      lines.push(`  ${d.known === undefined ? 'DIFFERENT' : 'known'} ${d.node || '(run)'} ${d.kind}`);
      lines.push(`    mock: ${d.mock}`);
      lines.push(`    real: ${d.real}`);
      if (d.known !== undefined) lines.push(`    reason: ${d.known}`);
    }
    if (s.differences.length === 0) lines.push('  same provision-state phases and API errors on every node');
  }
  return `${lines.join('\n')}\n`;
}

export function fidelityHtml(r: FidelityReport): string {
  const e = escapeHtml;
  const rows = r.scenarios
    .flatMap((s) =>
      s.nodes.map((n) => {
        const diffs = s.differences.filter((d) => d.node === n.node);
        const verdict =
          diffs.length === 0
            ? '<td class="ok">same</td>'
            : `<td class="${diffs.some((d) => d.known === undefined) ? 'bad' : 'known'}">${diffs
                .map((d) => `${e(d.kind)}${d.known === undefined ? '' : `: known — ${e(d.known)}`}`)
                .join('<br>')}</td>`;
        return `<tr><td>${e(s.scenario)}</td><td>${e(n.node)}</td><td>${e(n.mockStates.join(' → '))}<br><small>${e(n.mockErrors.join('; '))}</small></td><td>${e(n.realStates.join(' → '))}<br><small>${e(n.realErrors.join('; '))}</small></td>${verdict}</tr>`;
      }),
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bmlab fidelity: mock vs real Ironic</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:13px}
.ok{background:#e6f4ea}.bad{background:#fce8e6}.known{background:#fef7e0}</style></head>
<body><h1>Fidelity: mock vs real Ironic</h1>
<p>${r.scenarios.length} scenario(s), ${r.unexplained} unexplained difference(s), ${r.known} known. Started ${e(r.startedAt)}.</p>
<table><tr><th>scenario</th><th>node</th><th>mock: provision states, API errors</th><th>real: provision states, API errors</th><th>verdict</th></tr>
${rows}
</table></body></html>
`;
}

/** Writes fidelity.txt, fidelity.json and fidelity.html into `dir`; returns their paths. */
export function writeFidelityReport(
  r: FidelityReport,
  dir: string,
): { text: string; json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const paths = {
    text: join(dir, 'fidelity.txt'),
    json: join(dir, 'fidelity.json'),
    html: join(dir, 'fidelity.html'),
  };
  writeFileSync(paths.text, fidelityText(r));
  writeFileSync(paths.json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(paths.html, fidelityHtml(r));
  return paths;
}
