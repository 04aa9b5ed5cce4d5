/**
 * The short plain-text summary printed at the end of a run: one line per node and the totals,
 * ASCII only so it reads the same in a terminal and in a CI log.
 */
import type { RunRecord } from '../record.ts';
import { finalState, humanDuration, viewRun } from './model.ts';

const MAX_MESSAGE = 160;

/**
 * One line, at most MAX_MESSAGE characters: CI logs wrap long lines badly. Control characters become
 * `?` so a message from a BMC or an API cannot move the cursor or recolour the terminal (ESC).
 */
function oneLine(s: string): string {
  const flat = s
    .replace(/\s+/g, ' ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to remove
    .replace(/[\u0000-\u001F\u007F-\u009F]/g, '?')
    .trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 3)}...` : flat;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  // The last column (the failure) is not padded, so passing lines carry no trailing blanks.
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A few lines for stdout: the verdict, a line per node (ok/FAIL, final state, duration, failing step), totals. */
export function textSummary(record: RunRecord): string {
  const view = viewRun(record);
  const failedNodes = view.nodes.filter((n) => n.failed).length;
  const lines = [
    `${record.ok ? 'PASS' : 'FAIL'} ${oneLine(record.scenario)} (ironic ${oneLine(record.ironic)}, ${record.backend} backend, ${humanDuration(record.durationMs)})`,
    ...table(
      view.nodes.map((n) => [
        `  ${n.failed ? 'FAIL' : 'ok'}`,
        oneLine(n.result.node),
        oneLine(finalState(n.result)),
        humanDuration(n.result.durationMs),
        n.failure ? oneLine(`${n.failure.step}: ${n.failure.message}`) : '',
      ]),
    ),
  ];
  if (view.runFailure)
    lines.push(`  FAIL  (run)  ${view.runFailure.step}: ${oneLine(view.runFailure.message)}`);
  const assertionsFailed = record.assertions.filter((a) => !a.ok).length;
  lines.push(
    `nodes: ${view.nodes.length - failedNodes} passed, ${failedNodes} failed; ` +
      `assertions: ${record.assertions.length - assertionsFailed} passed, ${assertionsFailed} failed`,
  );
  return `${lines.join('\n')}\n`;
}
