// sluice under test, as users run it: `node bin/sluice.js run --config ...` in its own process,
// with the GC probe preloaded. Its log goes to a file in the run directory (printed if it dies).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GcEvent } from './gc-probe.ts';

const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./gc-probe.ts', import.meta.url));

export class SluiceProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly gcEvents: GcEvent[] = [];
  readonly exited: Promise<number | null>;
  readonly startedMs = Date.now();

  constructor(configPath: string, logFile: string) {
    this.logFile = logFile;
    const out = createWriteStream(logFile, { flags: 'a' });
    // SLUICE_BENCH_NODE_ARGS passes flags to the sluice process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const extra = process.env.SLUICE_BENCH_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
    this.child = spawn(process.execPath, [...extra, '--import', PROBE, BIN, 'run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child.stdout?.pipe(out, { end: false });
    this.child.stderr?.pipe(out, { end: false });
    this.child.on('message', (msg) => {
      const m = msg as { type?: string; events?: GcEvent[] };
      if (m.type === 'gc' && m.events) for (const e of m.events) this.gcEvents.push(e);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => setTimeout(() => resolve(code), 50)));
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Worker threads the process reported starting (sluice without workers runs one pipeline). */
  workers(): number {
    try {
      const m = /(\d+) workers running/.exec(readFileSync(this.logFile, 'utf8'));
      return m ? Number(m[1]) : 1;
    } catch {
      return 1;
    }
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM: sluice finishes its batch, commits and leaves the group; SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (!this.alive()) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
