/**
 * The HTML report for people: one self-contained file (inline CSS and a few lines of inline JS, no
 * external assets, nothing fetched), so it can be archived as a CI artifact and opened anywhere.
 *
 * Per node, the lanes (steps, provision states, power, IPMI, agent, boot, and API calls and faults
 * when there are any) share one time axis — the run's — so what the BMC answered can be read against
 * what Ironic reported at the same moment, and nodes against each other. The failing step is drawn
 * red in the step lane and as a band across all lanes.
 *
 * Hooks for tests and tooling: `section.node[data-node]`, `.lane[data-lane]`, `.ev` / `.seg` /
 * `.bin` with `data-at`, `.failing-step`, `.failing-band`, `li.assertion[data-ok]`.
 */
import type { AssertionResult, RunRecord, StepResult, TimelineEvent } from '../record.ts';
import { html } from './escape.ts';
import { finalState, humanDuration, type NodeView, offset, type RunView, viewRun } from './model.ts';
import {
  axisEnd,
  CORE_LANES,
  LANES,
  type Lane,
  points,
  powerClass,
  provisionClass,
  STATE_LANES,
  segments,
  stackRows,
  tickLabel,
  ticks,
} from './timeline.ts';

/** Rows of the per-node event table; the whole list is in run.json. */
const MAX_TABLE_ROWS = 3000;

const LANE_TITLES: Record<Lane, string> = {
  step: 'steps',
  provision: 'provision',
  power: 'power',
  ipmi: 'IPMI',
  agent: 'agent',
  boot: 'boot',
  api: 'API',
  fault: 'faults',
};

const pct = (ms: number, end: number) => `${+((Math.max(0, ms) / end) * 100).toFixed(3)}%`;

function place(from: number, to: number, end: number): string {
  return `left:${pct(from, end)};width:${pct(to - from, end)}`;
}

/**
 * Labels narrower than this share of the axis would show only an ellipsis at 1× zoom: they are
 * marked `narrow` and hidden until the reader zooms in (their title shows them all the time).
 */
const MIN_LABEL_SHARE = 0.025;
const narrow = (from: number, to: number, end: number) =>
  (to - from) / end < MIN_LABEL_SHARE ? ' narrow' : '';

function eventTitle(e: TimelineEvent): string {
  return [
    `${offset(e.at)}  ${e.kind}: ${e.label}`,
    ...(e.detail === undefined ? [] : [e.detail]),
    ...(e.ok === false ? ['failed'] : []),
  ].join('\n');
}

function stepTitle(s: StepResult): string {
  return [
    `step ${s.name}${s.node === undefined ? ' (run-wide)' : ''}`,
    `${offset(s.startedAt)} .. ${offset(s.endedAt)} (${humanDuration(s.endedAt - s.startedAt)})`,
    s.ok ? 'ok' : `FAILED: ${s.error ?? ''}`,
  ].join('\n');
}

/** Height of one row of step bars; overlapping (nested, concurrent) steps stack in rows. */
const STEP_ROW_PX = 20;

function stepLane(n: NodeView, runSteps: readonly StepResult[], end: number): { body: string; rows: number } {
  const steps = [...runSteps.filter((s) => !n.steps.some((o) => o.name === s.name)), ...n.steps];
  const rows = stackRows(steps.map((s) => ({ from: s.startedAt, to: s.endedAt })));
  const body = steps
    .map((s, i) => {
      const cls = [
        'seg',
        'step',
        s.ok ? 'ok' : 'error',
        s.node === undefined ? 'run-wide' : '',
        s === n.failingStep ? 'failing-step' : '',
      ]
        .filter(Boolean)
        .join(' ');
      const top = rows[i] ? `;top:${3 + rows[i]! * STEP_ROW_PX}px` : '';
      return `<span class="${cls}${narrow(s.startedAt, s.endedAt, end)}" style="${place(s.startedAt, Math.max(s.endedAt, s.startedAt), end)}${top}" data-at="${s.startedAt}" data-step="${html(s.name)}" title="${html(stepTitle(s))}">${html(s.name)}</span>`;
    })
    .join('');
  return { body, rows: Math.max(1, ...rows.map((r) => r + 1)) };
}

/**
 * Step events that only mark a drawn step's start or end repeat its bar; the others (notes a
 * scenario made along the way, failures) are drawn as markers over the bars.
 */
function notes(events: readonly TimelineEvent[], n: NodeView, view: RunView): TimelineEvent[] {
  const drawn = [...n.steps, ...view.runSteps];
  return events.filter(
    (e) =>
      e.ok === false ||
      !drawn.some((s) => (e.at === s.startedAt || e.at === s.endedAt) && e.label.startsWith(s.name)),
  );
}

function stateLane(lane: Lane, events: readonly TimelineEvent[], end: number): string {
  return segments(events, end)
    .map(({ from, to, event: e }) => {
      const cls = lane === 'provision' ? provisionClass(e.label, e.ok) : `power-${powerClass(e.label)}`;
      return `<span class="seg ${cls}${e.ok === false && cls !== 'error' ? ' error' : ''}${narrow(from, to, end)}" style="${place(from, to, end)}" data-at="${e.at}" title="${html(eventTitle(e))}">${html(e.label)}</span>`;
    })
    .join('');
}

function marker(e: TimelineEvent, room: number, end: number): string {
  return `<span class="ev${e.ok === false ? ' error' : ''}${narrow(e.at, e.at + room, end)}" style="${place(e.at, e.at + room, end)}" data-at="${e.at}" title="${html(eventTitle(e))}">${html(e.label)}</span>`;
}

function pointLane(events: readonly TimelineEvent[], end: number): string {
  const layout = points(events, end);
  if (!layout.dense) return layout.markers.map((m) => marker(m.event, m.room, end)).join('');
  const max = Math.max(...layout.bins.map((b) => b.count));
  const bins = layout.bins.map((b) => {
    const title = [
      `${b.count} events ${offset(b.from)} .. ${offset(b.to)}${b.failed ? `, ${b.failed} failed` : ''}`,
      ...b.labels.slice(0, 8).map(([label, n]) => `${n} × ${label}`),
      ...(b.labels.length > 8 ? [`… ${b.labels.length - 8} more kinds`] : []),
    ].join('\n');
    // Bar height grows with the square root of the count, so sparse bins stay visible next to bursts.
    const h = Math.max(15, Math.round(Math.sqrt(b.count / max) * 100));
    return `<span class="bin${b.failed ? ' error' : ''}" style="${place(b.from, b.to, end)};height:${h}%" data-at="${Math.round(b.from)}" data-count="${b.count}" title="${html(title)}"></span>`;
  });
  const failures = layout.failures.map((e) => marker(e, 0, end));
  return bins.join('') + failures.join('');
}

function timeline(n: NodeView, view: RunView, end: number, onlyUsedLanes = false): string {
  const byLane = new Map<Lane, TimelineEvent[]>();
  for (const e of n.events) {
    const list = byLane.get(e.kind);
    if (list === undefined) byLane.set(e.kind, [e]);
    else list.push(e);
  }
  const used = (lane: Lane) =>
    (byLane.get(lane)?.length ?? 0) > 0 || (lane === 'step' && n.steps.length + view.runSteps.length > 0);
  const shown = LANES.filter((lane) => used(lane) || (!onlyUsedLanes && CORE_LANES.has(lane)));
  const rows = shown.map((lane) => {
    const events = byLane.get(lane) ?? [];
    let body: string;
    let height = '';
    if (lane === 'step') {
      // Step bars stack in rows; the scenario's notes get a row of their own under them.
      const steps = stepLane(n, view.runSteps, end);
      const marks = notes(events, n, view);
      const rows = steps.rows + (marks.length > 0 ? 1 : 0);
      body =
        steps.body +
        (marks.length === 0
          ? ''
          : `<div class="notes" style="top:${steps.rows * STEP_ROW_PX}px">${pointLane(marks, end)}</div>`);
      if (rows > 1) height = ` style="height:${4 + rows * STEP_ROW_PX}px"`;
    } else if (STATE_LANES.has(lane)) body = stateLane(lane, events, end);
    else body = pointLane(events, end);
    const count = lane === 'step' ? '' : ` <small>${events.length}</small>`;
    return `<div class="lane" data-lane="${lane}"><div class="lane-label">${LANE_TITLES[lane]}${count}</div><div class="track"${height}>${body}</div></div>`;
  });
  // Minor ticks (five times as many) show only when zoomed in, so a widened axis stays readable.
  const major = ticks(end);
  const minor = ticks(end, 40).filter((t) => !major.includes(t));
  const tick = (t: number, cls: string) =>
    // Labels near the right edge hang to the left of their tick so they are not clipped.
    `<span class="tick${cls}${t > end * 0.93 ? ' last' : ''}" style="left:${pct(t, end)}">${tickLabel(t)}</span>`;
  const axis = major.map((t) => tick(t, '')).join('') + minor.map((t) => tick(t, ' minor')).join('');
  const grid = major.map((t) => `<span class="gridline" style="left:${pct(t, end)}"></span>`).join('');
  const s = n.failingStep;
  const band =
    s === undefined
      ? ''
      : `<span class="failing-band" style="${place(s.startedAt, Math.max(s.endedAt, s.startedAt), end)}" title="${html(stepTitle(s))}"></span>`;
  return (
    `<div class="scroller"><div class="timeline" data-node="${html(n.result.node)}">` +
    `<div class="axis"><div class="lane-label">time</div><div class="track">${axis}</div></div>` +
    `<div class="overlay">${grid}${band}</div>` +
    rows.join('') +
    '</div></div>'
  );
}

/** An assertion; `failing` marks the one a node's failure names (a failed check rather than a step). */
function assertionItem(a: AssertionResult, withNode: boolean, failing = false): string {
  const who = withNode && a.node !== undefined ? `<span class="who">${html(a.node)}</span> ` : '';
  return `<li class="assertion ${a.ok ? 'ok' : 'error'}${failing ? ' failing' : ''}" data-ok="${a.ok}"${a.node === undefined ? '' : ` data-node="${html(a.node)}"`}><span class="mark">${a.ok ? '✓' : '✗'}</span> ${who}<b>${html(a.name)}</b> <span class="msg">${html(a.message)}</span></li>`;
}

function eventTable(events: readonly TimelineEvent[]): string {
  if (events.length === 0) return '';
  const rows = events
    .slice(0, MAX_TABLE_ROWS)
    .map(
      (e) =>
        `<tr class="${e.ok === false ? 'error' : ''}" data-kind="${e.kind}"><td>${offset(e.at)}</td><td>${e.kind}</td><td>${html(e.label)}</td><td>${html(e.detail ?? '')}</td></tr>`,
    )
    .join('');
  const more =
    events.length > MAX_TABLE_ROWS
      ? `<p class="more">… ${events.length - MAX_TABLE_ROWS} more events in run.json</p>`
      : '';
  return `<details class="events"><summary>All ${events.length} events</summary><table><thead><tr><th>time</th><th>lane</th><th>event</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table>${more}</details>`;
}

function facts(n: NodeView): string {
  const r = n.result;
  const items: [string, string][] = [
    ['final state', finalState(r)],
    ['power', r.finalPowerState ?? '-'],
    ['boot device', r.bootDevice ?? '-'],
    ['booted', r.booted ?? '-'],
    ['IPMI commands', String(r.ipmiCommands)],
    ['duration', humanDuration(r.durationMs)],
  ];
  return `<dl class="facts">${items.map(([k, v]) => `<div><dt>${k}</dt><dd>${html(v)}</dd></div>`).join('')}</dl>`;
}

function nodeSection(n: NodeView, id: string, view: RunView, end: number): string {
  const r = n.result;
  const failure =
    n.failure === undefined
      ? ''
      : `<div class="failure${n.failingStep ? '' : ' failing-step'}" data-step="${html(n.failure.step)}"><b>Failed in step ${html(n.failure.step)}</b>${n.failingStep ? ` <span class="when">${offset(n.failingStep.startedAt)} .. ${offset(n.failingStep.endedAt)}</span>` : ''}<pre>${html(n.failure.message)}</pre></div>`;
  const states = r.provisionStates.map((s) => `<li class="${provisionClass(s)}">${html(s)}</li>`).join('');
  const assertions =
    n.assertions.length === 0
      ? ''
      : `<ul class="assertions">${n.assertions.map((a) => assertionItem(a, false, !a.ok && a.name === n.failure?.step)).join('')}</ul>`;
  return (
    `<section class="node ${n.failed ? 'fail' : 'pass'}" id="${id}" data-node="${html(r.node)}" data-ok="${!n.failed}">` +
    `<h2><span class="badge">${n.failed ? 'FAIL' : 'ok'}</span> ${html(r.node)}</h2>` +
    facts(n) +
    failure +
    `<ol class="states" title="provision states in the order they were seen">${states}</ol>` +
    timeline(n, view, end) +
    '<div class="hover-detail" aria-live="polite">Point at an event for its details.</div>' +
    assertions +
    eventTable(n.events) +
    '</section>'
  );
}

/** Events and steps not about one node, on the same axis as the nodes. */
function runSection(view: RunView, end: number): string {
  if (view.runEvents.length === 0 && view.runSteps.length === 0) return '';
  const pseudo: NodeView = {
    result: {
      node: '',
      ok: !view.runFailure,
      provisionStates: [],
      ipmiCommands: 0,
      durationMs: view.record.durationMs,
    },
    events: view.runEvents,
    steps: [],
    assertions: [],
    failed: view.runFailure !== undefined,
  };
  const inner = timeline(pseudo, view, end, true).replace(
    '<div class="timeline" data-node=""',
    '<div class="timeline" data-run',
  );
  return (
    `<section class="run-wide ${pseudo.failed ? 'fail' : 'pass'}" id="run-wide" data-run data-ok="${!pseudo.failed}">` +
    '<h2>Run-wide steps and events</h2>' +
    inner +
    '<div class="hover-detail" aria-live="polite">Point at an event for its details.</div>' +
    eventTable(view.runEvents) +
    '</section>'
  );
}

/** Element ids from node names: safe characters only, unique even when two names slug alike. */
function nodeIds(view: RunView): string[] {
  const seen = new Set<string>();
  return view.nodes.map((n, i) => {
    let id = `node-${n.result.node.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    if (seen.has(id)) id = `${id}-${i}`;
    seen.add(id);
    return id;
  });
}

function summaryTable(view: RunView, ids: readonly string[]): string {
  const rows = view.nodes
    .map((n, i) => {
      const r = n.result;
      return `<tr class="${n.failed ? 'fail' : 'pass'}" data-node="${html(r.node)}"><td><span class="badge">${n.failed ? 'FAIL' : 'ok'}</span></td><td><a href="#${ids[i]}">${html(r.node)}</a></td><td>${html(finalState(r))}</td><td>${html(r.finalPowerState ?? '-')}</td><td>${html(r.bootDevice ?? '-')}</td><td>${html(r.booted ?? '-')}</td><td class="num">${r.ipmiCommands}</td><td class="num">${humanDuration(r.durationMs)}</td><td>${n.failure ? `<b>${html(n.failure.step)}</b> ${html(n.failure.message)}` : ''}</td></tr>`;
    })
    .join('');
  return `<table class="summary"><thead><tr><th></th><th>node</th><th>final state</th><th>power</th><th>boot device</th><th>booted</th><th class="num">IPMI</th><th class="num">duration</th><th>failure</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const CSS = `
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--busy:#bf8700;--busy-bg:#fff8c5;--ink:#1f2328;--muted:#656d76;--line:#d0d7de;--lane:#f6f8fa;--label:8.5rem}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
header.run{padding:16px 24px;border-bottom:4px solid var(--ok);background:var(--ok-bg)}
header.run.fail{border-color:var(--bad);background:var(--bad-bg)}
header.run h1{margin:0;font-size:22px;display:flex;gap:12px;align-items:center}
.verdict{font-size:13px;font-weight:700;letter-spacing:.06em;color:#fff;background:var(--ok);padding:3px 10px;border-radius:4px}
header.run.fail .verdict{background:var(--bad)}
header.run p{margin:4px 0 8px;color:var(--muted)}
.meta{display:flex;flex-wrap:wrap;gap:4px 20px;margin:0;color:var(--muted)}
.meta b{color:var(--ink);font-weight:600}
main{padding:8px 24px 40px}
h2{font-size:17px;margin:0 0 8px;display:flex;gap:8px;align-items:center}
.badge{display:inline-block;min-width:3em;text-align:center;font-size:11px;font-weight:700;padding:1px 6px;border-radius:10px;color:#fff;background:var(--ok)}
.fail .badge{background:var(--bad)}
table{border-collapse:collapse}
table.summary{width:100%;margin:12px 0 8px}
table.summary th,table.summary td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
table.summary td:last-child{max-width:40em;overflow-wrap:anywhere}
table.summary td:nth-child(-n+2){white-space:nowrap}
.num{text-align:right!important;font-variant-numeric:tabular-nums}
section.node,section.run-wide{margin:18px 0;padding:14px 16px;border:1px solid var(--line);border-left:5px solid var(--ok);border-radius:6px}
section.node.fail,section.run-wide.fail{border-left-color:var(--bad)}
section.run-wide{border-left-color:#8c959f}
.facts{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0 0 8px}
.facts div{display:flex;gap:6px}.facts dt{color:var(--muted)}.facts dd{margin:0;font-weight:600}
.failure{margin:8px 0;padding:8px 12px;background:var(--bad-bg);border:1px solid var(--bad);border-radius:6px}
.failure pre{margin:4px 0 0;white-space:pre-wrap;overflow-wrap:anywhere;font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
.failure .when{color:var(--muted)}
ol.states{list-style:none;display:flex;flex-wrap:wrap;gap:4px 2px;padding:0;margin:8px 0 10px}
ol.states li{font-size:12px;padding:1px 8px;border-radius:10px;background:var(--lane);border:1px solid var(--line)}
ol.states li+li::before{content:"→ ";color:var(--muted)}
ol.states li.stable{background:var(--ok-bg);border-color:#aceebb}
ol.states li.busy{background:var(--busy-bg);border-color:#eac54f}
ol.states li.error{background:var(--bad-bg);border-color:var(--bad);color:var(--bad);font-weight:600}
.scroller{overflow-x:auto;border-radius:4px}
.timeline{width:calc(var(--zoom,1) * 100%);min-width:100%;position:relative;display:grid;grid-template-columns:var(--label) 1fr;border:1px solid var(--line);border-radius:4px;overflow:clip}
.lane,.axis{display:contents}
.lane-label{position:sticky;left:0;z-index:6;grid-column:1;padding:0 8px;font-size:12px;font-weight:600;line-height:24px;background:var(--lane);border-right:1px solid var(--line);border-top:1px solid #eaeef2;white-space:nowrap}
.lane-label small{font-weight:400;color:var(--muted)}
.track{grid-column:2;position:relative;height:24px;border-top:1px solid #eaeef2}
.axis .track,.axis .lane-label{height:20px;line-height:20px;border-top:0;color:var(--muted);font-weight:400}
.tick{position:absolute;top:0;font-size:11px;padding-left:3px;border-left:1px solid var(--line);height:100%;white-space:nowrap}
.tick.minor{display:none;color:#8c959f}
body.zoomed .tick.minor{display:block}
.tick.last{transform:translateX(-100%);border-left:0;border-right:1px solid var(--line);padding:0 3px 0 0}
.overlay{position:absolute;left:var(--label);right:0;top:20px;bottom:0;pointer-events:none;z-index:2}
.gridline{position:absolute;top:0;bottom:0;border-left:1px dashed #d8dee4}
.failing-band{position:absolute;top:0;bottom:0;background:rgba(207,34,46,.08);border-left:2px solid var(--bad);border-right:2px solid var(--bad)}
.notes{position:absolute;left:0;right:0;height:24px}
.seg,.ev,.bin{position:absolute;top:3px;height:18px;font-size:11px;line-height:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;z-index:3}
.seg{border:1px solid rgba(0,0,0,.18);border-radius:3px;padding:0 4px;min-width:2px;background:#eaeef2}
.seg.stable{background:var(--ok-bg);border-color:#aceebb}
.seg.busy{background:var(--busy-bg);border-color:#eac54f}
.seg.error{min-width:8px}
.seg.error,.seg.step.error{background:var(--bad-bg);border-color:var(--bad);color:var(--bad);font-weight:600}
.seg.power-on{background:#ffd8a8;border-color:#f08c00}
.seg.power-off{background:#e9ecef;border-color:#adb5bd;color:var(--muted)}
.seg.step{background:#ddf4ff;border-color:#54aeff}
.seg.step.run-wide{background:#f6f8fa;border-style:dashed;color:var(--muted)}
.seg.failing-step{background:var(--bad)!important;color:#fff!important;border-color:#82071e!important;box-shadow:0 0 0 2px rgba(207,34,46,.35);z-index:4}
.ev{border-left:2px solid #57606a;padding:0 3px 0 3px;min-width:2px;color:var(--ink)}
.lane[data-lane=ipmi] .ev{border-left-color:#8250df}
.lane[data-lane=agent] .ev{border-left-color:#0969da}
.lane[data-lane=boot] .ev{border-left-color:#1a7f37}
.lane[data-lane=api] .ev{border-left-color:#6e7781}
.lane[data-lane=fault] .ev{border-left-color:#bc4c00;color:#bc4c00}
.ev.error{border-left:3px solid var(--bad)!important;color:var(--bad);font-weight:600;min-width:4px;z-index:4}
.bin{top:auto;bottom:2px;background:#c297ff;border-radius:1px 1px 0 0;min-width:1px}
.bin.error{background:var(--bad)}
body:not(.zoomed) .narrow{color:transparent!important}
.seg:hover,.ev:hover,.bin:hover{outline:2px solid #0969da;z-index:5;overflow:visible}
.hover-detail{min-height:1.5em;margin:4px 0 8px;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;color:var(--muted);white-space:pre-wrap}
ul.assertions{list-style:none;padding:0;margin:8px 0}
li.assertion{padding:2px 0}
li.assertion .mark{display:inline-block;width:1.2em;font-weight:700;color:var(--ok)}
li.assertion.error .mark,li.assertion.error b{color:var(--bad)}
li.assertion.failing{background:var(--bad-bg);border-left:3px solid var(--bad);padding-left:6px}
li.assertion .msg{color:var(--muted);overflow-wrap:anywhere}
li.assertion .who{font-size:12px;background:var(--lane);border:1px solid var(--line);border-radius:3px;padding:0 4px}
details.events summary{cursor:pointer;color:var(--muted);margin-top:6px}
details.events table{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;margin-top:6px}
details.events td,details.events th{padding:1px 10px 1px 0;text-align:left;vertical-align:top}
details.events tr.error{color:var(--bad);font-weight:600}
section#assertions h2{margin-top:24px}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;font-size:12px;color:var(--muted);margin:4px 0 0}
.key::before{content:"";display:inline-block;width:14px;height:10px;margin-right:5px;border:1px solid;border-radius:2px;vertical-align:-1px}
.key.stable::before{background:var(--ok-bg);border-color:#aceebb}
.key.busy::before{background:var(--busy-bg);border-color:#eac54f}
.key.error::before{background:var(--bad-bg);border-color:var(--bad)}
.key.power-on::before{background:#ffd8a8;border-color:#f08c00}
.key.power-off::before{background:#e9ecef;border-color:#adb5bd}
.key.failing::before{background:var(--bad);border-color:#82071e}
.key.bins::before{background:#c297ff;border-color:#c297ff}
`;

// Hovering an element of a timeline shows its details in full under it (titles show them too,
// but only after a delay and clipped by some browsers).
// The zoom widens every timeline (they scroll sideways, lane names stay put) and lets narrow labels show.
const JS = `var z=document.getElementById('zoom');if(z)z.addEventListener('input',function(){document.body.style.setProperty('--zoom',z.value);document.body.classList.toggle('zoomed',z.value!=='1');document.getElementById('zoom-value').textContent=z.value+'×';});document.addEventListener('mouseover',function(e){var t=e.target;if(!(t instanceof Element))return;var el=t.closest('.timeline [title]');if(!el)return;var s=el.closest('section');var d=s&&s.querySelector('.hover-detail');if(d)d.textContent=el.getAttribute('title');});`;

const LEGEND =
  '<p class="legend">' +
  '<span class="key stable">settled state</span><span class="key busy">in progress</span>' +
  '<span class="key error">failed</span><span class="key power-on">power on</span>' +
  '<span class="key power-off">power off</span><span class="key failing">failing step</span>' +
  '<span class="key bins">dense lane: bars = events per interval</span>' +
  '<label class="zoom">zoom <input type="range" id="zoom" min="1" max="16" step="1" value="1"> <output id="zoom-value">1×</output></label>' +
  '<span class="hint">point at anything on a timeline for its details</span></p>';

/** The run as one self-contained HTML document. */
export function htmlReport(record: RunRecord): string {
  const view = viewRun(record);
  const end = axisEnd(record);
  const ids = nodeIds(view);
  const passed = view.nodes.filter((n) => !n.failed).length;
  const assertionsOk = record.assertions.filter((a) => a.ok).length;
  const verdict = record.ok ? 'PASS' : 'FAIL';
  const meta: [string, string][] = [
    ['Ironic', record.ironic],
    ['backend', record.backend],
    ['started', record.startedAt],
    ['duration', humanDuration(record.durationMs)],
    ['nodes', `${passed} of ${view.nodes.length} passed`],
    ['assertions', `${assertionsOk} of ${record.assertions.length} passed`],
  ];
  const runFailure =
    view.runFailure === undefined
      ? ''
      : `<div class="failure run-failure" data-step="${html(view.runFailure.step)}"><b>Run failed in ${html(view.runFailure.step)}</b><pre>${html(view.runFailure.message)}</pre></div>`;
  const allAssertions =
    record.assertions.length === 0
      ? '<p>No assertions were recorded.</p>'
      : `<ul class="assertions">${record.assertions.map((a) => assertionItem(a, true)).join('')}</ul>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bmlab">
<title>${verdict} ${html(record.scenario)} · bmlab</title>
<style>${CSS}</style>
</head>
<body data-ok="${record.ok}">
<header class="run ${record.ok ? 'pass' : 'fail'}" id="run" data-scenario="${html(record.scenario)}" data-ok="${record.ok}">
<h1><span class="verdict">${verdict}</span> ${html(record.scenario)}</h1>
<p>${html(record.description)}</p>
<dl class="meta">${meta.map(([k, v]) => `<div>${k} <b>${html(v)}</b></div>`).join('')}</dl>
</header>
<main>
${runFailure}
${summaryTable(view, ids)}
${LEGEND}
${view.nodes.map((n, i) => nodeSection(n, ids[i]!, view, end)).join('\n')}
${runSection(view, end)}
<section id="assertions"><h2>Assertions</h2>${allAssertions}</section>
</main>
<script>${JS}</script>
</body>
</html>
`;
}
