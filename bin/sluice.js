#!/usr/bin/env node
// In a checkout, runs the TypeScript sources directly (Node 22.18+ strips types natively), so
// what runs is always what was just edited; an installed package, which ships only dist/, runs
// the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const { main } = existsSync(source) ? await import(source) : await import('../dist/cli.js');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything was closed in order by now; a client timer left behind must not keep a stopped
// service alive, so give stdio a moment to drain and then exit.
setTimeout(() => process.exit(code), 1000).unref();
