#!/usr/bin/env node
// The bmlab command. Runs the TypeScript sources through tsx's loader, so a fresh clone works
// right after `npm ci` with no build step.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// V8 allocates objects from a literal straight in old space once most of that literal's objects
// have outlived a young-generation collection. Sessions do that while a console holds them open;
// afterwards every short session (one per ipmitool run) went to old space, pulled its buffers and
// keys after it, and the BMC's RSS climbed until the next full collection. Set before anything runs.
setFlagsFromString('--no-allocation-site-pretenuring');

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
