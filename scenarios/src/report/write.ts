/** Writes a run's reports into a directory: `junit.xml`, `report.html` and the record as `run.json`. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../record.ts';
import { htmlReport } from './html.ts';
import { junitXml } from './junit.ts';

export interface ReportPaths {
  readonly junit: string;
  readonly html: string;
  readonly json: string;
}

export async function writeReports(record: RunRecord, dir: string): Promise<ReportPaths> {
  await mkdir(dir, { recursive: true });
  const paths = {
    junit: join(dir, 'junit.xml'),
    html: join(dir, 'report.html'),
    json: join(dir, 'run.json'),
  };
  await Promise.all([
    writeFile(paths.junit, junitXml(record)),
    writeFile(paths.html, htmlReport(record)),
    writeFile(paths.json, `${JSON.stringify(record, null, 2)}\n`),
  ]);
  return paths;
}
