// bin/node-launcher.cjs: the version test, and that a command it runs stands in for it (argv,
// exit code, signals). The re-run on an old Node is the same runChild with the cached binary.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../../bin/node-launcher.cjs', import.meta.url));
const launcher = createRequire(import.meta.url)(LAUNCHER) as {
  satisfies(version: string, range: string): boolean;
  cacheRoot(env: NodeJS.ProcessEnv): string;
  nodeHome(env: NodeJS.ProcessEnv): string;
  requiredRange(): string;
};
const dir = mkdtempSync(join(tmpdir(), 'sluice-launcher-'));

function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

function run(args: string[], opts: { untilOutput?: RegExp; thenSignal?: NodeJS.Signals } = {}) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (opts.untilOutput?.test(output) && opts.thenSignal) {
        child.kill(opts.thenSignal);
        opts.thenSignal = undefined;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('node-launcher', () => {
  it('compares versions against the engines range', () => {
    expect(launcher.requiredRange()).toMatch(/^>=\d+/);
    expect(launcher.satisfies('20.20.2', '>=22.22')).toBe(false);
    expect(launcher.satisfies('22.21.9', '>=22.22')).toBe(false);
    expect(launcher.satisfies('22.22.0', '>=22.22')).toBe(true);
    expect(launcher.satisfies('v24.1.0', '>=22.22')).toBe(true);
    expect(launcher.satisfies('100.0.0', '>=22.22.1')).toBe(true);
    expect(launcher.satisfies(process.versions.node, launcher.requiredRange())).toBe(true);
  });

  it('caches Node where .ci/run always did', () => {
    expect(launcher.nodeHome({ SLUICE_CACHE_DIR: '/c' })).toBe('/c/node-24');
    expect(launcher.cacheRoot({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/sluice');
  });

  it('runs a script with its arguments and passes on its exit code', async () => {
    const file = script('argv.mjs', 'console.log(JSON.stringify(process.argv.slice(2))); process.exitCode = 3;\n');
    const r = await run([LAUNCHER, file, 'a', '--b']);
    expect(r.output.trim()).toBe('["a","--b"]');
    expect(r.code).toBe(3);
  });

  it('resolves a dev tool by its bin name', async () => {
    const r = await run([LAUNCHER, 'tsc', '--version']);
    expect(r.output).toMatch(/^Version \d+/);
    expect(r.code).toBe(0);
  });

  it('forwards SIGTERM and SIGINT to a re-run command and takes its exit code', async () => {
    const child = script('signals.mjs', [
      "for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { console.log('got ' + s); process.exit(7); });",
      "console.log('ready'); setInterval(() => undefined, 1000);",
      '',
    ].join('\n'));
    const stand = `require(${JSON.stringify(LAUNCHER)}).runChild(process.execPath, ${JSON.stringify(child)}, [], process.env)`;
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const r = await run(['-e', stand], { untilOutput: /ready/, thenSignal: sig });
      expect(r.output).toContain(`got ${sig}`);
      expect(r.code).toBe(7);
    }
  });

  it('dies of the signal that killed the re-run command', async () => {
    const child = script('killed.mjs', "process.kill(process.pid, 'SIGKILL');\n");
    const r = await run(['-e', `require(${JSON.stringify(LAUNCHER)}).runChild(process.execPath, ${JSON.stringify(child)}, [], process.env)`]);
    expect(r.signal).toBe('SIGKILL');
  });
});
