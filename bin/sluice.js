#!/usr/bin/env node
// In a checkout, runs the TypeScript sources directly (Node 22.18+ strips types natively), so
// what runs is always what was just edited; an installed package, which ships only dist/, runs
// the compiled CLI. On a Node older than package.json's engines, node-launcher.cjs re-runs this
// file on a suitable Node (installing one into the cache the first time) and stands in for it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const launcher = createRequire(import.meta.url)('./node-launcher.cjs');
if (!launcher.relaunchIfTooOld(fileURLToPath(import.meta.url), process.argv.slice(2))) {
  const source = fileURLToPath(new URL('../src/entry/cli.ts', import.meta.url));
  const { main } = existsSync(source) ? await import(source) : await import('../dist/entry/cli.js');
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Everything was closed in order by now; a client timer left behind must not keep a stopped
  // service alive, so give stdio a moment to drain and then exit.
  setTimeout(() => process.exit(code), 1000).unref();
}
