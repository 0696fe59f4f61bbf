// Runs `sluice run` as a real child process (the bin users run), so tests can SIGKILL it at any
// instant. Output goes to a log file that a failing test can print.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface SluiceProcess {
  child: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
}

// A test runner that is itself killed must not leave brokers' worth of sluice processes behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function runSluice(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): SluiceProcess {
  appendFileSync(logFile, `--- sluice ${args.join(' ')} at ${new Date().toISOString()}\n`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      // Let the pipes drain before the log is read.
      setTimeout(() => {
        out.end();
        resolve({ code, signal });
      }, 50);
    });
  });
  return { child, logFile, exited, log: () => readFileSync(logFile, 'utf8') };
}

/** Runs the CLI to completion and returns its exit code and combined output. */
export async function runSluiceToExit(args: string[], logFile: string, timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const p = runSluice(args, logFile, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, output: p.log() };
}

export async function waitForLog(p: SluiceProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(p.log())) return;
    if (p.child.exitCode !== null) throw new Error(`sluice exited (${p.child.exitCode}) before logging ${pattern}:\n${p.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sluice did not log ${pattern} within ${timeoutMs} ms:\n${p.log().slice(-3000)}`);
}
