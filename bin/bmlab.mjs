#!/usr/bin/env node
// The bmlab command. Runs the TypeScript sources through tsx's loader, so a fresh clone works
// right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/src/main.ts');
process.exitCode = await main(process.argv.slice(2));
