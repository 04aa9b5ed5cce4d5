import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../record.ts';
import { NASTY, sampleRun } from './fixtures/records.ts';
import { junitXml, RUN_CASE } from './junit.ts';

const XSD = new URL('./fixtures/junit.xsd', import.meta.url).pathname;
const hasXmllint = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const dir = mkdtempSync(join(tmpdir(), 'bmlab-junit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function save(xml: string): string {
  const file = join(dir, `junit-${seq++}.xml`);
  writeFileSync(file, xml);
  return file;
}

/** libxml2's reading of an XPath expression over the document: what a CI server's parser sees. */
function xpath(file: string, expr: string): string {
  // xmllint ends its answer with one line break of its own.
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).replace(/\n$/, '');
}

// What the parser gives back for NASTY: the control byte cannot be carried in XML 1.0.
const NASTY_PARSED = NASTY.replace('\u0001', '\uFFFD');

describe('junitXml', () => {
  const record = sampleRun();
  const xml = junitXml(record);

  it('has one suite for the run and one case per node plus the run-wide case', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml.match(/<testsuite /g)).toHaveLength(1);
    const names = [...xml.matchAll(/<testcase classname="bmlab\.enroll-inspect-deploy" name="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(names).toEqual(['node-0', 'node-1', RUN_CASE]);
    expect(xml).toContain('tests="3" failures="1" errors="0"');
  });

  it('keeps markup, quotes and control bytes out of the document', () => {
    expect(xml).not.toContain('<waiting>');
    expect(xml).not.toContain('\u0001');
    expect(xml).not.toMatch(/]]>(?!&)/);
    expect(xml).toContain(
      'message="deploy: timed out &lt;waiting&gt; for &quot;active&quot; &amp; &apos;wait',
    );
  });

  describe.skipIf(!hasXmllint)('read by libxml2', () => {
    const file = save(xml);

    it('is well-formed and valid against the CI JUnit schema', () => {
      expect(() =>
        execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' }),
      ).not.toThrow();
    });

    it('gives back the failing step and message exactly', () => {
      expect(xpath(file, 'count(//testcase)')).toBe('3');
      expect(xpath(file, 'count(//testcase[failure])')).toBe('1');
      expect(xpath(file, 'string(//testcase[failure]/@name)')).toBe('node-1');
      expect(xpath(file, 'string(//testcase[@name="node-1"]/failure/@type)')).toBe('deploy');
      expect(xpath(file, 'string(//testcase[@name="node-1"]/failure/@message)')).toBe(
        `deploy: ${NASTY_PARSED}`,
      );
      const body = xpath(file, 'string(//testcase[@name="node-1"]/failure)');
      expect(body).toContain(`message: ${NASTY_PARSED}`);
      expect(body).toContain('during: +8.230 s .. +30.010 s');
      expect(body).toContain('assertion failed: provision states');
      expect(body).toContain(
        'error event: +15.010 s  ipmi      Get Chassis Status (0x00/0x01) cc=c3 (timeout <no answer>) !',
      );
    });

    it('puts times in seconds and the run facts in properties', () => {
      expect(xpath(file, 'string(//testcase[@name="node-0"]/@time)')).toBe('19.060');
      expect(xpath(file, 'string(/testsuites/testsuite/@time)')).toBe('30.210');
      expect(xpath(file, 'string(//testsuite/@timestamp)')).toBe('2026-11-25T20:00:00');
      expect(xpath(file, 'string(//property[@name="ironic"]/@value)')).toBe('mock');
      expect(xpath(file, 'string(//property[@name="backend"]/@value)')).toBe('sim');
      expect(xpath(file, 'string(//property[@name="description"]/@value)')).toBe(record.description);
    });

    it('writes the provision-state sequence and key events to system-out', () => {
      const out = xpath(file, 'string(//testcase[@name="node-0"]/system-out)');
      expect(out).toContain(`provision states: ${record.nodes[0]!.provisionStates.join(' -> ')}`);
      expect(out).toContain('booted: cirros-0.6.2');
      expect(out).toMatch(/ {2}\+1\.620 s {2}power {5}power on \(chassis control\)/);
      expect(out).toMatch(/ {6}10 × Get Chassis Status \(0x00\/0x01\) cc=00/);
      // IPMI commands are summarised, not listed one per line.
      expect(out).not.toMatch(/s {2}ipmi /);
      const run = xpath(file, `string(//testcase[@name="${RUN_CASE}"]/system-out)`);
      expect(run).toContain('ok   step create fleet +0.000 s .. +0.400 s');
      expect(run).toContain('ok   assertion IPMI commands per node: at most 200 per node');
    });

    it('stays well-formed whatever the texts hold', () => {
      // Every BMP code point class that can trouble a writer, in names, labels and messages.
      const chars = [
        '<',
        '>',
        '&',
        '"',
        "'",
        ']]>',
        '\t',
        '\n',
        '\r',
        '\u0000',
        '\u001b[31m',
        '\uFFFE',
        '\uD800',
        '\uDC00x',
        '😀',
        'é',
        '\u2028',
      ];
      const texts = Array.from(
        { length: 40 },
        (_, i) => `t${i}${chars[i % chars.length]}${chars[(i * 7) % chars.length]}end`,
      );
      const base = sampleRun();
      const weird: RunRecord = {
        ...base,
        scenario: texts[0]!,
        description: texts[1]!,
        nodes: base.nodes.map((n, i) => ({
          ...n,
          node: texts[2 + i]!,
          provisionStates: texts.slice(4, 9),
          failure: { step: texts[10 + i]!, message: texts[12 + i]! },
          ok: false,
        })),
        steps: [{ name: texts[14]!, startedAt: 0, endedAt: 5, ok: false, error: texts[15]! }],
        assertions: [{ name: texts[16]!, ok: false, message: texts[17]! }],
        events: texts.map((t, i) => ({
          at: i * 10,
          node: texts[2 + (i % 2)]!,
          kind: (['provision', 'power', 'agent', 'boot', 'fault'] as const)[i % 5]!,
          label: t,
          detail: texts[(i + 3) % texts.length]!,
          ok: i % 3 !== 0,
        })),
      };
      const f = save(junitXml(weird));
      expect(() => execFileSync('xmllint', ['--noout', '--schema', XSD, f], { stdio: 'pipe' })).not.toThrow();
      expect(xpath(f, 'count(//testcase)')).toBe('3');
      expect(xpath(f, 'count(//testcase[failure])')).toBe('3');
      expect(xpath(f, 'string(//testcase[1]/@name)')).toBe(texts[2]); // t2&😀end
      expect(xpath(f, 'string(//testcase[2]/@name)')).toBe(texts[3]); // t3"'end
      // Tabs and line breaks in attributes survive as character references.
      expect(xpath(f, 'string(//property[@name="description"]/@value)')).toBe('t1>\nend');
      expect(xpath(f, 'string(//property[@name="scenario"]/@value)')).toBe('t0<<end');
      expect(xpath(f, 'string(//testcase[1]/system-out)')).toContain('t8\r]]>end');
    });
  });

  it('has no failure element and a passing count when every node passed', () => {
    const base = sampleRun();
    const ok: RunRecord = {
      ...base,
      ok: true,
      nodes: [base.nodes[0]!],
      steps: base.steps.filter((s) => s.node !== 'node-1'),
      assertions: base.assertions.filter((a) => a.node !== 'node-1'),
      events: base.events.filter((e) => e.node !== 'node-1'),
    };
    const out = junitXml(ok);
    expect(out).toContain('tests="2" failures="0" errors="0"');
    expect(out).not.toContain('<failure');
  });

  it('lists events that are about no node in the run-wide case', () => {
    const base = sampleRun();
    const out = junitXml({
      ...base,
      events: [...base.events, { at: 120, node: '', kind: 'api', label: 'GET /v1/drivers 500', ok: false }],
    });
    const run = out.slice(out.indexOf(`name="${RUN_CASE}"`));
    expect(run).toContain(
      '\nevents not about one node:\n    +0.120 s  api       GET /v1/drivers 500 !</system-out>',
    );
  });

  it('fails the run-wide case when the run failed outside every node', () => {
    const base = sampleRun();
    const out = junitXml({
      ...base,
      ok: false,
      nodes: [base.nodes[0]!],
      assertions: [{ name: 'fleet ready', ok: false, message: 'only 7 of 8 BMCs answered' }],
    });
    expect(out).toContain(
      `name="${RUN_CASE}" time="30.210">\n      <failure message="assertion fleet ready: only 7 of 8 BMCs answered"`,
    );
    expect(out).toContain('tests="2" failures="1"');
  });
});

it('finds the schema it validates against', () => {
  expect(existsSync(XSD)).toBe(true);
});
