// What every ceiling member shares, whichever client it runs on: the IPC protocol with
// ceiling.ts (init, then stop; reports back) and the process around one run.
import { installWarningFilter } from '../../src/observability/warnings.ts';

export interface PassThroughInit {
  cmd: 'init';
  brokers: string;
  input: string;
  output: string;
  groupId: string;
  partitions: number;
  maxRecords: number;
  maxBytes: number;
}

export type PassThroughCommand = PassThroughInit | { cmd: 'stop' };

export type PassThroughReport =
  | { type: 'ready' }
  /** after a join, once a producer for every assigned partition is connected */
  | { type: 'assigned'; partitions: number[]; t: number }
  | { type: 'stopped'; processed: number; transactions: number }
  | { type: 'error'; message: string };

export function report(msg: PassThroughReport): void {
  process.send?.(msg);
}

export function fail(err: unknown): void {
  report({ type: 'error', message: (err as Error).stack ?? String(err) });
  setTimeout(() => process.exit(1), 200);
}

/** Runs `run` on init and its `stop` on stop, reporting failures; exits when the parent goes. */
export function serveMember(run: (init: PassThroughInit) => Promise<{ stop: () => Promise<void> }>): void {
  installWarningFilter();
  let running: Promise<{ stop: () => Promise<void> }> | undefined;
  process.on('message', (msg) => {
    const cmd = msg as PassThroughCommand;
    if (cmd.cmd === 'init') {
      running = run(cmd);
      running.then(() => report({ type: 'ready' }), fail);
    } else if (cmd.cmd === 'stop') {
      void (running ?? Promise.reject(new Error('not started')))
        .then((r) => r.stop())
        .then(() => process.disconnect?.(), fail);
    }
  });
  process.on('disconnect', () => setTimeout(() => process.exit(0), 500).unref());
}
