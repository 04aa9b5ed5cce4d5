#!/usr/bin/env node
// The bmlab command. Runs the TypeScript sources through tsx's loader, so a fresh clone works
// right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
// Output piped into `head` and the like: stop quietly when the reader goes away.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import('../cli/src/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command has stopped what it started by now; a stray timer must not keep the CLI alive.
setTimeout(() => process.exit(code), 2_000).unref();
