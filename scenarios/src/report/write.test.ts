import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sampleRun } from './fixtures/records.ts';
import { htmlReport } from './html.ts';
import { junitXml } from './junit.ts';
import { writeReports } from './write.ts';

const dir = mkdtempSync(join(tmpdir(), 'bmlab-reports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('writes junit.xml, report.html and run.json into a directory it creates', async () => {
  const record = sampleRun();
  const out = join(dir, 'a', 'b');
  const paths = await writeReports(record, out);
  expect(paths).toEqual({
    junit: join(out, 'junit.xml'),
    html: join(out, 'report.html'),
    json: join(out, 'run.json'),
  });
  expect(readFileSync(paths.junit, 'utf8')).toBe(junitXml(record));
  expect(readFileSync(paths.html, 'utf8')).toBe(htmlReport(record));
  // run.json is the record itself: the reports can be made again from it later.
  const saved = JSON.parse(readFileSync(paths.json, 'utf8'));
  expect(saved).toEqual(record);
  expect(junitXml(saved)).toBe(junitXml(record));
  // A second run into the same directory replaces the files.
  await writeReports({ ...record, scenario: 'again' }, out);
  expect(readFileSync(paths.junit, 'utf8')).toContain('classname="bmlab.again"');
  expect(execFileSync('ls', [out], { encoding: 'utf8' }).split('\n').filter(Boolean)).toEqual([
    'junit.xml',
    'report.html',
    'run.json',
  ]);
});
