#!/usr/bin/env node
// Runs the compiled CLI when the package was built, else the TypeScript sources directly
// (Node 22.18+ strips types natively), so a checkout works without a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const { main } = existsSync(built) ? await import(built) : await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything was closed in order by now; a client timer left behind must not keep a stopped
// service alive, so give stdio a moment to drain and then exit.
setTimeout(() => process.exit(code), 1000).unref();
