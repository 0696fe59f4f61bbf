#!/usr/bin/env node
// Runs the compiled CLI when the package was built, else the TypeScript sources directly
// (Node 22.18+ strips types natively), so a checkout works without a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const { main } = existsSync(built) ? await import(built) : await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
