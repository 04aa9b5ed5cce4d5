/**
 * Views on a RunRecord shared by the three report formats: which events, steps and assertions
 * belong to a node, why a node failed, and how durations read.
 */
import type { AssertionResult, NodeResult, RunRecord, StepResult, TimelineEvent } from '../record.ts';

export interface NodeView {
  readonly result: NodeResult;
  /** This node's events, ordered by time (stable for equal times). */
  readonly events: readonly TimelineEvent[];
  /** Steps about this node. */
  readonly steps: readonly StepResult[];
  readonly assertions: readonly AssertionResult[];
  readonly failed: boolean;
  /** Why the node failed; absent when it passed. */
  readonly failure?: { readonly step: string; readonly message: string };
  /** The step the failure happened in, when the record has it with its times. */
  readonly failingStep?: StepResult;
}

export interface RunView {
  readonly record: RunRecord;
  readonly nodes: readonly NodeView[];
  /** Steps and assertions that are not about one node (fleet set-up, run-wide checks). */
  readonly runSteps: readonly StepResult[];
  readonly runAssertions: readonly AssertionResult[];
  /** Events not about any node of the run (run-wide API calls, notes), ordered by time. */
  readonly runEvents: readonly TimelineEvent[];
  /** A run-level failure: a failed run-wide step or assertion, or a failed run whose nodes all passed. */
  readonly runFailure?: { readonly step: string; readonly message: string };
}

function byTime<T>(items: readonly T[], at: (t: T) => number): T[] {
  // Array.prototype.sort is stable, so events recorded at the same millisecond keep their order.
  return [...items].sort((a, b) => at(a) - at(b));
}

function groupBy<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string | undefined, T[]> {
  const out = new Map<string | undefined, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list === undefined) out.set(k, [it]);
    else list.push(it);
  }
  return out;
}

function nodeView(
  result: NodeResult,
  events: readonly TimelineEvent[],
  steps: readonly StepResult[],
  assertions: readonly AssertionResult[],
  runSteps: readonly StepResult[],
): NodeView {
  const failedAssertion = assertions.find((a) => !a.ok);
  const failed = !result.ok || failedAssertion !== undefined;
  const failedStep = steps.find((s) => !s.ok);
  let failure: { step: string; message: string } | undefined;
  if (result.failure !== undefined) failure = result.failure;
  else if (failedStep !== undefined)
    failure = { step: failedStep.name, message: failedStep.error ?? 'failed' };
  else if (failedAssertion !== undefined)
    failure = { step: `assertion ${failedAssertion.name}`, message: failedAssertion.message };
  else if (failed) failure = { step: '(unknown)', message: 'the node failed without a recorded step' };
  // The failing step is found by name among this node's steps, then among run-wide steps (a
  // `deploy` step may drive every node at once and fail for one of them).
  const named = (list: readonly StepResult[]) =>
    list.find((s) => !s.ok && s.name === failure?.step) ?? list.find((s) => s.name === failure?.step);
  const failingStep = failure === undefined ? undefined : (named(steps) ?? named(runSteps));
  return {
    result,
    events,
    steps,
    assertions,
    failed,
    ...(failure === undefined ? {} : { failure }),
    ...(failingStep === undefined ? {} : { failingStep }),
  };
}

export function viewRun(record: RunRecord): RunView {
  const events = groupBy(
    byTime(record.events, (e) => e.at),
    (e) => e.node,
  );
  const steps = groupBy(
    byTime(record.steps, (s) => s.startedAt),
    (s) => s.node,
  );
  const assertions = groupBy(record.assertions, (a) => a.node);
  const runSteps = steps.get(undefined) ?? [];
  const nodes = record.nodes.map((n) =>
    nodeView(n, events.get(n.node) ?? [], steps.get(n.node) ?? [], assertions.get(n.node) ?? [], runSteps),
  );
  const runAssertions = assertions.get(undefined) ?? [];
  const badStep = runSteps.find((s) => !s.ok);
  const badAssertion = runAssertions.find((a) => !a.ok);
  let runFailure: { step: string; message: string } | undefined;
  if (badStep !== undefined) runFailure = { step: badStep.name, message: badStep.error ?? 'failed' };
  else if (badAssertion !== undefined)
    runFailure = { step: `assertion ${badAssertion.name}`, message: badAssertion.message };
  else if (!record.ok && nodes.every((n) => !n.failed))
    runFailure = { step: '(run)', message: 'the run failed without a failed node, step or assertion' };
  const known = new Set(record.nodes.map((n) => n.node));
  const runEvents = [...events].filter(([node]) => !known.has(node as string)).flatMap(([, list]) => list);
  runEvents.sort((a, b) => a.at - b.at);
  return {
    record,
    nodes,
    runSteps,
    runAssertions,
    runEvents,
    ...(runFailure === undefined ? {} : { runFailure }),
  };
}

/** The last provision state the node was seen in. */
export function finalState(n: NodeResult): string {
  return n.provisionStates.at(-1) ?? '-';
}

/** Seconds with millisecond precision, as JUnit's `time` attribute wants them (no exponent, no unit). */
export function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** A duration for people: `850 ms`, `12.3 s`, `4 m 05 s`, `1 h 02 m`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

/** A point on the run's time axis, e.g. `+12.345 s`. */
export function offset(ms: number): string {
  return `+${seconds(ms)} s`;
}
