/**
 * Progress of a long run: on a terminal, a live task list (one line per node, redrawn in place);
 * otherwise plain timestamped lines, as CI logs want them.
 */
export interface Progress {
  update(node: string | undefined, text: string): void;
  /** Prints a line above the live list (or plainly). */
  line(text: string): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stdout): Progress {
  const t0 = Date.now();
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
  if (!stream.isTTY) {
    return {
      update: (node, text) => stream.write(`${secs()} ${node ?? '(run)'}: ${text}\n`),
      line: (text) => stream.write(`${text}\n`),
      done: () => {},
    };
  }
  const rows = new Map<string, string>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const width = () => Math.max(40, (stream.columns ?? 100) - 1);
  const draw = () => {
    timer = undefined;
    let out = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const [node, text] of rows) out += `\x1b[2K${`${node.padEnd(10)} ${text}`.slice(0, width())}\n`;
    out += `\x1b[2K${secs()} elapsed\n`;
    drawn = rows.size + 1;
    stream.write(out);
  };
  const schedule = () => {
    timer ??= setTimeout(draw, 100);
  };
  return {
    update(node, text) {
      rows.set(node ?? '(run)', text.startsWith('FAILED') ? `\x1b[31m${text}\x1b[0m` : text);
      schedule();
    },
    line(text) {
      // The live list makes room for the line and comes back with the next update.
      if (drawn > 0) stream.write(`\x1b[${drawn}F\x1b[J`);
      drawn = 0;
      stream.write(`${text}\n`);
    },
    done() {
      // The summary printed last says how every node ended; the list is not drawn again under it.
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
