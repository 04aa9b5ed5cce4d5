export { htmlReport } from './html.ts';
export { junitXml, RUN_CASE } from './junit.ts';
export { textSummary } from './text.ts';
export { type ReportPaths, writeReports } from './write.ts';
