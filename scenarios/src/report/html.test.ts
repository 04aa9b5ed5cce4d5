import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../record.ts';
import { largeRun, NASTY, sampleRun } from './fixtures/records.ts';
import { htmlReport } from './html.ts';
import {
  AXIS_HEADROOM,
  axisEnd,
  BINS,
  DENSE_THRESHOLD,
  points,
  segments,
  stackRows,
  tickLabel,
  ticks,
} from './timeline.ts';

describe('htmlReport', () => {
  const out = htmlReport(sampleRun());

  it('escapes every text it was given', () => {
    expect(out).not.toContain('<waiting>');
    expect(out).not.toContain('<again>');
    expect(out).not.toContain('\u0001');
    expect(out).toContain(
      'timed out &lt;waiting&gt; for &quot;active&quot; &amp; &#39;wait call-back&#39; ]]&gt; \uFFFDbell',
    );
    // The only elements are the report's own: one style, one script, no stray tags from the texts.
    expect(out.match(/<script/g)).toHaveLength(1);
    expect(out.match(/<style/g)).toHaveLength(1);
  });

  it('is self-contained: nothing is loaded from elsewhere', () => {
    expect(out).not.toMatch(/\b(src|href)="(?!#)/);
    expect(out).not.toMatch(/url\(|@import|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('has a section per node with its lanes and the failing step marked', () => {
    const sections = [...out.matchAll(/<section class="node (pass|fail)" id="([^"]+)" data-node="([^"]+)"/g)];
    expect(sections.map((m) => [m[1], m[2], m[3]])).toEqual([
      ['pass', 'node-node-0', 'node-0'],
      ['fail', 'node-node-1', 'node-1'],
    ]);
    const from = out.indexOf('<section class="node fail"');
    const node1 = out.slice(from, out.indexOf('<section', from + 1));
    expect(node1.match(/data-lane="(\w+)"/g)).toEqual(
      ['step', 'provision', 'power', 'ipmi', 'agent', 'boot', 'api', 'fault'].map((l) => `data-lane="${l}"`),
    );
    expect(out.match(/class="seg step error failing-step"[^>]*data-step="deploy"/g)).toHaveLength(1);
    expect(out.match(/class="failing-band"/g)).toHaveLength(1);
  });

  it('draws run-wide steps and events in a section of their own', () => {
    const base = sampleRun();
    const html = htmlReport({
      ...base,
      events: [...base.events, { at: 100, node: '', kind: 'api', label: 'GET /v1/drivers 200' }],
    });
    const run = html.slice(html.indexOf('<section class="run-wide pass" id="run-wide" data-run'));
    expect(run).toMatch(/^<section[^>]*>.*data-lane="step".*data-step="create fleet"/);
    expect(run).toMatch(
      /data-lane="api"><div class="lane-label">API <small>1<\/small>.*GET \/v1\/drivers 200/,
    );
    // Only the lanes that have something in them.
    expect(run.slice(0, run.indexOf('</section>')).match(/data-lane="\w+"/g)).toEqual([
      'data-lane="step"',
      'data-lane="api"',
    ]);
    // Nodes keep only their own events.
    expect(html.match(/GET \/v1\/drivers 200/g)).toHaveLength(3); // marker title, label, table row
  });

  it('does not repeat the start and end of a drawn step as markers, but keeps notes', () => {
    const base = sampleRun();
    const deploy = base.steps.find((s) => s.node === 'node-0' && s.name === 'deploy')!;
    const html = htmlReport({
      ...base,
      events: [
        ...base.events,
        { at: deploy.startedAt, node: 'node-0', kind: 'step', label: 'deploy …' },
        { at: deploy.endedAt, node: 'node-0', kind: 'step', label: 'deploy done', ok: true },
        { at: deploy.startedAt + 5, node: 'node-0', kind: 'step', label: 'image cached', detail: 'sha256 …' },
      ],
    });
    const lane = html.slice(html.indexOf('data-lane="step"'), html.indexOf('data-lane="provision"'));
    expect(lane).not.toContain('deploy done');
    expect(lane).not.toContain('step: deploy …');
    expect(lane).toContain('step: image cached');
  });

  it('marks the assertion a node failed on when the failure names a check, not a step', () => {
    const base = sampleRun();
    const html = htmlReport({
      ...base,
      nodes: base.nodes.map((n) =>
        n.failure ? { ...n, failure: { step: 'booted the image from disk', message: 'never booted' } } : n,
      ),
    });
    const node1 = html.slice(html.indexOf('<section class="node fail"'));
    expect(node1).toMatch(
      /<li class="assertion error failing" data-ok="false" data-node="node-1"><span class="mark">✗<\/span> <b>booted the image from disk<\/b>/,
    );
    // No step carries that name, so the failure box itself is the marked step and no band is drawn.
    expect(node1).toMatch(/<div class="failure failing-step" data-step="booted the image from disk">/);
    expect(html).not.toContain('class="failing-band"');
  });

  it('gives nodes with odd names safe, distinct ids', () => {
    const base = sampleRun();
    const html = htmlReport({
      ...base,
      nodes: [
        { ...base.nodes[0]!, node: 'rack 1/"a"' },
        { ...base.nodes[1]!, node: 'rack 1/<a>' },
      ],
    });
    expect(html).toContain('id="node-rack_1__a_" data-node="rack 1/&quot;a&quot;"');
    expect(html).toContain('id="node-rack_1__a_-1" data-node="rack 1/&lt;a&gt;"');
  });

  it('draws dense lanes as bins and keeps failures visible', () => {
    const big = largeRun(10, 20);
    expect(big.events.length).toBeGreaterThan(10_000);
    const html = htmlReport(big);
    const binCounts = [...html.matchAll(/class="bin[^"]*"[^>]*data-count="(\d+)"/g)].map((m) => Number(m[1]));
    const ipmi = big.events.filter((e) => e.kind === 'ipmi').length;
    expect(binCounts.reduce((a, b) => a + b, 0)).toBe(ipmi);
    expect(binCounts.length).toBeLessThanOrEqual(10 * BINS);
    // Two failing nodes, each with one failed IPMI command drawn on top of its bins.
    expect(
      html.match(/class="ev error[^"]*"[^>]*title="[^"]*ipmi: Get Chassis Status \(0x00\/0x01\) cc=c3/g),
    ).toHaveLength(2);
    expect(html.length).toBeLessThan(6_000_000);
  });
});

describe('timeline layout', () => {
  const ev = (at: number, label = 'x', ok?: boolean): TimelineEvent => ({
    at,
    node: 'n',
    kind: 'ipmi',
    label,
    ...(ok === undefined ? {} : { ok }),
  });

  it('puts 1-2-5 ticks over the whole axis', () => {
    expect(ticks(30_210)).toEqual([0, 5000, 10_000, 15_000, 20_000, 25_000, 30_000]);
    expect(ticks(900)).toEqual([0, 200, 400, 600, 800]);
    expect(['0', '500 ms', '12 s', '2 m', '2 m 30 s'].join()).toBe(
      [0, 500, 12_000, 120_000, 150_000].map(tickLabel).join(),
    );
  });

  it('makes the axis long enough for every event and step', () => {
    const r = sampleRun();
    expect(axisEnd({ ...r, durationMs: 10, events: [ev(50)], steps: [] })).toBe(50 * (1 + AXIS_HEADROOM));
    expect(axisEnd({ ...r, durationMs: 10, events: [], steps: [{ ...r.steps[0]!, endedAt: 70 }] })).toBe(
      70 * (1 + AXIS_HEADROOM),
    );
    expect(axisEnd({ ...r, durationMs: 0, events: [], steps: [] })).toBe(1 + AXIS_HEADROOM);
  });

  it('lets a state last until the next one, the last until the end', () => {
    expect(segments([ev(10), ev(40)], 100).map((s) => [s.from, s.to])).toEqual([
      [10, 40],
      [40, 100],
    ]);
  });

  it('stacks overlapping steps in rows and reuses a row once it is free', () => {
    const rows = stackRows([
      { from: 0, to: 100 }, // outer step
      { from: 10, to: 20 }, // nested
      { from: 15, to: 30 }, // overlaps both
      { from: 20, to: 40 }, // starts as the nested one ends
      { from: 100, to: 120 }, // after the outer one
    ]);
    expect(rows).toEqual([0, 1, 2, 1, 0]);
  });

  it('draws nested steps and notes on rows of their own', () => {
    const base = sampleRun();
    const html = htmlReport({
      ...base,
      steps: [...base.steps, { name: 'outage', node: 'node-0', startedAt: 9000, endedAt: 12_000, ok: true }],
      events: [...base.events, { at: 9000, node: 'node-0', kind: 'step', label: 'BMC unreachable' }],
    });
    const lane = html.slice(html.indexOf('data-lane="step"'), html.indexOf('data-lane="provision"'));
    expect(lane).toMatch(/<div class="track" style="height:64px">/); // two rows of bars, one of notes
    expect(lane).toMatch(/;top:23px" data-at="9000" data-step="outage"/);
    expect(lane).toMatch(
      /<div class="notes" style="top:40px"><span class="ev"[^>]*title="\+9\.000 s {2}step: BMC unreachable"/,
    );
  });

  it('bins only dense lanes and counts every event once', () => {
    const sparse = points([ev(1), ev(5)], 10);
    expect(sparse).toEqual({
      dense: false,
      markers: [
        { event: ev(1), room: 4 },
        { event: ev(5), room: 5 },
      ],
    });
    const many = Array.from({ length: DENSE_THRESHOLD + 50 }, (_, i) =>
      ev(i * 10, i % 3 ? 'a' : 'b', i !== 7),
    );
    const layout = points(many, 10_000);
    if (!layout.dense) throw new Error('expected bins');
    expect(layout.bins.reduce((a, b) => a + b.count, 0)).toBe(many.length);
    expect(layout.bins.reduce((a, b) => a + b.failed, 0)).toBe(1);
    expect(layout.failures.map((e) => e.at)).toEqual([70]);
    expect(layout.bins[0]!.labels[0]).toEqual(['a', 6]);
    // An event at the very end of the axis sits in the last bin rather than past it.
    const atEnd = points([...many, ev(10_000)], 10_000);
    if (!atEnd.dense) throw new Error('expected bins');
    expect(atEnd.bins.at(-1)).toMatchObject({ from: 10_000 - 10_000 / BINS, to: 10_000, count: 1 });
  });
});

it('the fixture carries the hostile message the escaping tests rely on', () => {
  expect(NASTY).toMatch(/<waiting>.*"active".*&.*'.*]]>/);
  expect(NASTY).toContain('\u0001');
});
