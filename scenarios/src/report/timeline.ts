/**
 * Layout of the HTML timeline, kept apart from the markup so it can be tested alone: the shared
 * time axis, state lanes as segments (a provision or power state lasts until the next one), and
 * point lanes as markers or — when too dense to read — as per-interval bins.
 */
import type { RunRecord, TimelineEvent, TimelineKind } from '../record.ts';

/** Lanes in the order they are drawn, top to bottom. */
export const LANES = ['step', 'provision', 'power', 'ipmi', 'agent', 'boot', 'api', 'fault'] as const;
export type Lane = (typeof LANES)[number];
/** Lanes drawn for every node even when empty, so nodes line up; the others only when used. */
export const CORE_LANES: ReadonlySet<Lane> = new Set(['step', 'provision', 'power', 'ipmi', 'agent', 'boot']);
/** Lanes whose events are states that hold until the next event. */
export const STATE_LANES: ReadonlySet<TimelineKind> = new Set(['provision', 'power']);

/** A lane with more markers than this is drawn as bins. */
export const DENSE_THRESHOLD = 80;
/** How many bins a dense lane is cut into along the axis. */
export const BINS = 120;

/** Room left after the last moment of the run, so the state a node ended in can be read. */
export const AXIS_HEADROOM = 0.04;

/** The shared axis: every node of the run is drawn on 0..end, so nodes can be compared by eye. */
export function axisEnd(record: RunRecord): number {
  let end = record.durationMs;
  for (const e of record.events) end = Math.max(end, e.at);
  for (const s of record.steps) end = Math.max(end, s.endedAt);
  return Math.max(end, 1) * (1 + AXIS_HEADROOM);
}

/** Ticks at 1, 2 or 5 × 10^k ms, about `target` of them. */
export function ticks(end: number, target = 8): number[] {
  const raw = end / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let t = 0; t <= end + 1e-9; t += step) out.push(Math.round(t * 1000) / 1000);
  return out;
}

/** A tick's text: `0 s`, `500 ms`, `12 s`, `2 m 30 s`. */
export function tickLabel(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s % 60 === 0 ? `${s / 60} m` : `${Math.floor(s / 60)} m ${s % 60} s`;
}

export interface Segment {
  readonly from: number;
  readonly to: number;
  readonly event: TimelineEvent;
}

/** State events as segments: each lasts until the next one, the last one until `end`. */
export function segments(events: readonly TimelineEvent[], end: number): Segment[] {
  return events.map((event, i) => ({
    from: event.at,
    to: Math.max(events[i + 1]?.at ?? end, event.at),
    event,
  }));
}

export interface Marker {
  readonly event: TimelineEvent;
  /** Time until the next marker: room for the label. */
  readonly room: number;
}

export interface Bin {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly failed: number;
  /** Labels by count, most frequent first. */
  readonly labels: readonly (readonly [string, number])[];
}

export type PointLayout =
  | { readonly dense: false; readonly markers: readonly Marker[] }
  | { readonly dense: true; readonly bins: readonly Bin[]; readonly failures: readonly TimelineEvent[] };

/**
 * Point events as markers, or as bins when there are more than DENSE_THRESHOLD of them. Failed
 * events stay visible as markers on top of the bins: an error completion code among a thousand
 * polls is what a reader is looking for.
 */
export function points(events: readonly TimelineEvent[], end: number): PointLayout {
  if (events.length <= DENSE_THRESHOLD) {
    return {
      dense: false,
      markers: events.map((event, i) => ({ event, room: (events[i + 1]?.at ?? end) - event.at })),
    };
  }
  const width = end / BINS;
  const acc = new Map<number, { count: number; failed: number; labels: Map<string, number> }>();
  for (const e of events) {
    const i = Math.min(BINS - 1, Math.floor(e.at / width));
    let b = acc.get(i);
    if (b === undefined) {
      b = { count: 0, failed: 0, labels: new Map() };
      acc.set(i, b);
    }
    b.count++;
    if (e.ok === false) b.failed++;
    b.labels.set(e.label, (b.labels.get(e.label) ?? 0) + 1);
  }
  const bins = [...acc]
    .sort((a, b) => a[0] - b[0])
    .map(([i, b]) => ({
      from: i * width,
      to: (i + 1) * width,
      count: b.count,
      failed: b.failed,
      labels: [...b.labels].sort((x, y) => y[1] - x[1]),
    }));
  return { dense: true, bins, failures: events.filter((e) => e.ok === false).slice(0, DENSE_THRESHOLD) };
}

/** How a provision state reads: settled, in progress, or failed. */
export function provisionClass(state: string, ok?: boolean): 'stable' | 'busy' | 'error' {
  if (ok === false || /fail|error/i.test(state)) return 'error';
  return /^(enroll|manageable|available|active)$/.test(state) ? 'stable' : 'busy';
}

/** `on`, `off` or `other` for a power event's label (`power on`, `power off`, `reset`, …). */
export function powerClass(label: string): 'on' | 'off' | 'other' {
  if (/\bon\b/i.test(label)) return 'on';
  if (/\boff\b/i.test(label)) return 'off';
  return 'other';
}

/**
 * Rows for intervals that may overlap (nested or concurrent steps): each goes into the first row
 * whose last interval has ended, so none hides another. Returns the row of each input, in order.
 */
export function stackRows(intervals: readonly { readonly from: number; readonly to: number }[]): number[] {
  const order = intervals.map((_, i) => i).sort((a, b) => intervals[a]!.from - intervals[b]!.from);
  const rowEnds: number[] = [];
  const rows = new Array<number>(intervals.length).fill(0);
  for (const i of order) {
    const { from, to } = intervals[i]!;
    let row = rowEnds.findIndex((end) => end <= from);
    if (row === -1) row = rowEnds.length;
    rowEnds[row] = Math.max(to, from);
    rows[i] = row;
  }
  return rows;
}
