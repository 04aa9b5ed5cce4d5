/**
 * The HTML report as a person sees it: opened from disk in headless Chromium (Debian's package,
 * driven by playwright-core), with every request that is not the file itself refused and counted.
 * Set BMLAB_REPORT_SCREENSHOTS=DIR to keep the screenshots.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../record.ts';
import { largeRun, sampleRun } from './fixtures/records.ts';
import { htmlReport } from './html.ts';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('HTML report in Chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'bmlab-html-'));
  const shots = process.env['BMLAB_REPORT_SCREENSHOTS'] ?? join(work, 'shots');
  let context: BrowserContext;
  const foreign: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    context = await chromium.launchPersistentContext(join(work, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file://')) return route.continue();
      foreign.push(url);
      return route.abort();
    });
  });

  afterAll(async () => {
    await context?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function open(record: RunRecord, name: string): Promise<Page> {
    const file = join(work, `${name}.html`);
    writeFileSync(file, htmlReport(record));
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${file}`);
    return page;
  }

  it('shows each node with its lanes on one shared axis and the failing step highlighted', async () => {
    const record = sampleRun();
    const page = await open(record, 'sample');
    await expect(page.locator('header.run .verdict').textContent()).resolves.toBe('FAIL');
    expect(await page.locator('body').getAttribute('data-ok')).toBe('false');

    for (const n of record.nodes) {
      const section = page.locator(`section.node[data-node="${n.node}"]`);
      expect(await section.getAttribute('data-ok')).toBe(String(n.ok));
      const events = record.events.filter((e) => e.node === n.node);
      for (const lane of ['step', 'provision', 'power', 'ipmi', 'agent', 'boot'])
        expect(await section.locator(`.lane[data-lane="${lane}"]`).count()).toBe(1);
      const count = (kind: string) => events.filter((e) => e.kind === kind).length;
      expect(await section.locator('.lane[data-lane="provision"] .seg').count()).toBe(count('provision'));
      expect(await section.locator('.lane[data-lane="power"] .seg').count()).toBe(count('power'));
      expect(await section.locator('.lane[data-lane="ipmi"] .ev').count()).toBe(count('ipmi'));
      expect(await section.locator('.lane[data-lane="agent"] .ev').count()).toBe(count('agent'));
      expect(await section.locator('.lane[data-lane="boot"] .ev').count()).toBe(count('boot'));

      // Every lane's track spans the same x range, and every element sits inside it.
      const tracks = await section.locator('.timeline .track').evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return [Math.round(r.left), Math.round(r.width)];
        }),
      );
      expect(new Set(tracks.map((t) => t.join())).size).toBe(1);
      const [left, width] = tracks[0]!;
      const xs = await section
        .locator('.lane .seg, .lane .ev')
        .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().left));
      for (const x of xs) expect(x).toBeGreaterThanOrEqual(left! - 1);
      for (const x of xs) expect(x).toBeLessThanOrEqual(left! + width!);
    }

    const ok = page.locator('section.node[data-node="node-0"]');
    expect(await ok.locator('.failing-step, .failing-band').count()).toBe(0);

    const bad = page.locator('section.node[data-node="node-1"]');
    const step = bad.locator('.lane[data-lane="step"] .failing-step');
    expect(await step.count()).toBe(1);
    expect(await step.textContent()).toBe('deploy');
    expect(await step.evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).backgroundColor)).toBe(
      'rgb(207, 34, 46)',
    );
    // The band covers the failing step's time span across every lane.
    const s = (await step.boundingBox())!;
    const band = (await bad.locator('.failing-band').boundingBox())!;
    const lanes = await bad
      .locator('.lane .track')
      .evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.top, r.bottom]));
    expect(Math.abs(band.x - s.x)).toBeLessThan(2);
    expect(Math.abs(band.x + band.width - (s.x + s.width))).toBeLessThan(2);
    expect(band.y).toBeLessThanOrEqual(lanes[0]![0]! + 1);
    expect(band.y + band.height).toBeGreaterThanOrEqual(lanes.at(-1)![1]! - 1);
    await expect(bad.locator('.failure').textContent()).resolves.toContain('Failed in step deploy');

    // Pointing at an event shows its details in full.
    const fault = record.events.find((e) => e.kind === 'fault')!;
    await bad.locator('.lane[data-lane="fault"] .ev').hover();
    await expect(bad.locator('.hover-detail').textContent()).resolves.toBe(
      `+${(fault.at / 1000).toFixed(3)} s  fault: agent heartbeat lost\ninjected by the scenario`,
    );

    expect(await page.locator('#assertions li.assertion').count()).toBe(record.assertions.length);
    expect(await page.locator('#assertions li.assertion[data-ok="false"]').count()).toBe(2);

    await page.screenshot({ path: join(shots, 'sample.png'), fullPage: true });
    expect(statSync(join(shots, 'sample.png')).size).toBeGreaterThan(20_000);

    // Zooming widens the timelines, which then scroll sideways with their lane names kept in view,
    // and shows the labels that were too narrow to read.
    const scroller = bad.locator('.scroller');
    const narrowLabel = bad.locator('.lane[data-lane="provision"] .narrow').first();
    expect(await narrowLabel.evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).color)).toBe(
      'rgba(0, 0, 0, 0)',
    );
    const before = await scroller.evaluate((e) => e.scrollWidth);
    expect(await bad.locator('.axis .tick:visible').count()).toBeLessThan(10);
    await page.locator('#zoom').fill('4');
    const after = await scroller.evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth }));
    expect(after.scroll).toBeGreaterThan(3.5 * before);
    expect(
      await narrowLabel.evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).color),
    ).not.toBe('rgba(0, 0, 0, 0)');
    const label = bad.locator('.lane[data-lane="ipmi"] .lane-label');
    const x0 = (await label.boundingBox())!.x;
    await scroller.evaluate((e) => e.scrollBy(800, 0));
    expect(Math.abs((await label.boundingBox())!.x - x0)).toBeLessThan(2);
    await expect(page.locator('#zoom-value').textContent()).resolves.toBe('4×');
    expect(await bad.locator('.axis .tick:visible').count()).toBeGreaterThan(20);
    await page.screenshot({ path: join(shots, 'sample-zoomed.png') });
    await page.close();
  });

  it('stays quick and readable with thousands of events', async () => {
    const record = largeRun(8, 25);
    const started = Date.now();
    const page = await open(record, 'large');
    const loadMs = Date.now() - started;
    expect(loadMs).toBeLessThan(5000);
    expect(await page.locator('section.node').count()).toBe(8);
    const ipmi = record.events.filter((e) => e.node === 'node-4' && e.kind === 'ipmi').length;
    expect(ipmi).toBeGreaterThan(1000);
    const lane = page.locator('section.node[data-node="node-4"] .lane[data-lane="ipmi"]');
    const binned = await lane
      .locator('.bin')
      .evaluateAll((els) => els.reduce((a, e) => a + Number(e.getAttribute('data-count')), 0));
    expect(binned).toBe(ipmi);
    expect(await lane.locator('.ev.error').count()).toBe(1);
    await page
      .locator('section.node[data-node="node-4"]')
      .screenshot({ path: join(shots, 'large-node-4.png') });
    await page.close();
  });

  it('loaded nothing but the report and logged no errors', () => {
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
  });
});
