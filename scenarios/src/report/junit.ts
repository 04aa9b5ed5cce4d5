/**
 * JUnit XML for CI systems. The dialect is the one Jenkins (junit plugin), GitLab and GitHub test
 * reporters all read, Ant's `junitreport` layout:
 *   <testsuites> → one <testsuite> per scenario run, with <properties> → one <testcase> per node
 *   (classname `bmlab.<scenario>`, name = node, time in seconds) → <failure message type> and
 *   <system-out>.
 * Run-wide steps and assertions (not about one node) get one extra test case, `(run)`, so a run that
 * failed outside every node still fails in CI.
 */
import type { RunRecord, TimelineEvent } from '../record.ts';
import { xmlAttr, xmlText } from './escape.ts';
import { finalState, type NodeView, offset, type RunView, seconds, viewRun } from './model.ts';

/** The test case name of run-wide results; parenthesised so it cannot be taken for a node name. */
export const RUN_CASE = '(run)';

// Lanes a person reads in system-out; IPMI traffic is summarised by command instead (it is by far
// the densest and is in run.json and the HTML report in full).
const KEY_KINDS: ReadonlySet<TimelineEvent['kind']> = new Set([
  'provision',
  'power',
  'agent',
  'boot',
  'fault',
  'step',
]);
const MAX_KEY_EVENTS = 300;

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

/** Ant's timestamp: ISO 8601 without fraction or zone (the run's start is UTC). */
function antTimestamp(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 19);
}

function eventLine(e: TimelineEvent): string {
  const mark = e.ok === false ? ' !' : '';
  const detail = e.detail === undefined ? '' : ` (${e.detail})`;
  return `${offset(e.at).padStart(12)}  ${e.kind.padEnd(9)} ${e.label}${detail}${mark}`;
}

function ipmiSummary(events: readonly TimelineEvent[]): string[] {
  const counts = new Map<string, { n: number; bad: number }>();
  for (const e of events) {
    if (e.kind !== 'ipmi') continue;
    const c = counts.get(e.label) ?? { n: 0, bad: 0 };
    c.n++;
    if (e.ok === false) c.bad++;
    counts.set(e.label, c);
  }
  return [...counts]
    .sort((a, b) => b[1].n - a[1].n)
    .map(([label, c]) => `  ${String(c.n).padStart(6)} × ${label}${c.bad ? ` (${c.bad} failed)` : ''}`);
}

function nodeOut(n: NodeView): string {
  const r = n.result;
  const lines = [
    `provision states: ${r.provisionStates.join(' -> ') || '(none seen)'}`,
    `final state: ${finalState(r)}`,
    `final power state: ${r.finalPowerState ?? '-'}`,
    `boot device: ${r.bootDevice ?? '-'}`,
    `booted: ${r.booted ?? '-'}`,
    `IPMI commands: ${r.ipmiCommands}`,
    `duration: ${seconds(r.durationMs)} s`,
  ];
  if (n.steps.length > 0) {
    lines.push('', 'steps:');
    for (const s of n.steps)
      lines.push(
        `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.name} ${offset(s.startedAt)} .. ${offset(s.endedAt)}${s.error ? `: ${s.error}` : ''}`,
      );
  }
  if (n.assertions.length > 0) {
    lines.push('', 'assertions:');
    for (const a of n.assertions) lines.push(`  ${a.ok ? 'ok  ' : 'FAIL'} ${a.name}: ${a.message}`);
  }
  const ipmi = ipmiSummary(n.events);
  if (ipmi.length > 0) lines.push('', 'IPMI commands by kind:', ...ipmi);
  const key = n.events.filter((e) => KEY_KINDS.has(e.kind) || e.ok === false);
  if (key.length > 0) {
    lines.push('', 'events:');
    lines.push(...key.slice(0, MAX_KEY_EVENTS).map(eventLine));
    if (key.length > MAX_KEY_EVENTS) lines.push(`  … ${key.length - MAX_KEY_EVENTS} more in run.json`);
  }
  return lines.join('\n');
}

function failureBody(n: NodeView): string {
  const lines = [`step: ${n.failure?.step ?? '-'}`, `message: ${n.failure?.message ?? '-'}`];
  if (n.failingStep)
    lines.push(`during: ${offset(n.failingStep.startedAt)} .. ${offset(n.failingStep.endedAt)}`);
  lines.push(`last provision state: ${finalState(n.result)}`);
  for (const a of n.assertions.filter((a) => !a.ok)) lines.push(`assertion failed: ${a.name}: ${a.message}`);
  for (const e of n.events.filter((e) => e.ok === false)) lines.push(`error event: ${eventLine(e).trim()}`);
  return lines.join('\n');
}

function testcase(classname: string, name: string, timeMs: number, failure: string, out: string): string {
  return `    <testcase${attrs({ classname, name, time: seconds(timeMs) })}>\n${failure}      <system-out>${xmlText(out)}</system-out>\n    </testcase>\n`;
}

function failureElement(step: string, message: string, body: string): string {
  return `      <failure${attrs({ message: `${step}: ${message}`, type: step })}>${xmlText(body)}</failure>\n`;
}

function runCase(view: RunView, classname: string): string | undefined {
  const { runSteps, runAssertions, runEvents, runFailure, record } = view;
  if (
    runSteps.length === 0 &&
    runAssertions.length === 0 &&
    runEvents.length === 0 &&
    runFailure === undefined
  )
    return undefined;
  const key = runEvents.filter((e) => KEY_KINDS.has(e.kind) || e.kind === 'api' || e.ok === false);
  const out = [
    ...runSteps.map(
      (s) =>
        `${s.ok ? 'ok  ' : 'FAIL'} step ${s.name} ${offset(s.startedAt)} .. ${offset(s.endedAt)}${s.error ? `: ${s.error}` : ''}`,
    ),
    ...runAssertions.map((a) => `${a.ok ? 'ok  ' : 'FAIL'} assertion ${a.name}: ${a.message}`),
    ...(key.length === 0
      ? []
      : ['', 'events not about one node:', ...key.slice(0, MAX_KEY_EVENTS).map(eventLine)]),
    ...(key.length > MAX_KEY_EVENTS ? [`  … ${key.length - MAX_KEY_EVENTS} more in run.json`] : []),
  ].join('\n');
  const failure =
    runFailure === undefined
      ? ''
      : failureElement(runFailure.step, runFailure.message, out || runFailure.message);
  return testcase(classname, RUN_CASE, record.durationMs, failure, out);
}

/** The run as a JUnit XML document. */
export function junitXml(record: RunRecord): string {
  const view = viewRun(record);
  const classname = `bmlab.${record.scenario}`;
  const cases = view.nodes.map((n) =>
    testcase(
      classname,
      n.result.node,
      n.result.durationMs,
      n.failure ? failureElement(n.failure.step, n.failure.message, failureBody(n)) : '',
      nodeOut(n),
    ),
  );
  const run = runCase(view, classname);
  if (run !== undefined) cases.push(run);
  const failures = view.nodes.filter((n) => n.failed).length + (view.runFailure ? 1 : 0);
  const counts = { tests: cases.length, failures, errors: 0, time: seconds(record.durationMs) };
  const props: Record<string, string> = {
    scenario: record.scenario,
    description: record.description,
    ironic: record.ironic,
    backend: record.backend,
    startedAt: record.startedAt,
    result: record.ok ? 'passed' : 'failed',
  };
  const properties = Object.entries(props)
    .map(([name, value]) => `      <property${attrs({ name, value })}/>\n`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites${attrs({ name: 'bmlab', ...counts })}>\n` +
    `  <testsuite${attrs({ name: classname, ...counts, skipped: 0, timestamp: antTimestamp(record.startedAt) })}>\n` +
    `    <properties>\n${properties}    </properties>\n` +
    cases.join('') +
    '  </testsuite>\n' +
    '</testsuites>\n'
  );
}
