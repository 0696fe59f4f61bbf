// Runs a client's pass-through ceiling (pass-through-kafkajs.ts or pass-through-platformatic.ts)
// as `members` child processes in one consumer group (as many as sluice has workers), waits for
// the group to settle, releases the backlog and measures the drain from the group's committed
// offsets, exactly as for sluice.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DrainRate, Progress } from '../report/analysis.ts';
import type { BenchAdmin } from '../setup/broker.ts';
import { measureDrain } from '../measure/drain.ts';
import type { PassThroughInit, PassThroughReport } from './pass-through-member.ts';

/** the pass-through member of each client: same IPC protocol, same chunking */
const SCRIPTS = {
  kafkajs: fileURLToPath(new URL('./pass-through-kafkajs.ts', import.meta.url)),
  platformatic: fileURLToPath(new URL('./pass-through-platformatic.ts', import.meta.url)),
} as const;
export type CeilingClient = keyof typeof SCRIPTS;
/** a group counts as settled once no member's assignment changed for this long */
const SETTLE_MS = 1500;

export interface CeilingResult extends DrainRate {
  client: CeilingClient;
  members: number;
  transactions: number;
  points: Progress[];
}

export interface CeilingRun {
  client: CeilingClient;
  init: Omit<PassThroughInit, 'cmd'>;
  members: number;
  admin: BenchAdmin;
  /** commits the backlog transaction on the ceiling's input */
  release: () => Promise<void>;
  /** per partition, how many backlog records it holds */
  targets: readonly number[];
  timeoutMs: number;
  log: (line: string) => void;
}

interface Member {
  child: ChildProcess;
  assigned: number[];
  assignedAt: number;
  stopped: Promise<number>;
}

export async function runCeiling(run: CeilingRun): Promise<CeilingResult> {
  let failure: Error | undefined;
  const members: Member[] = Array.from({ length: run.members }, () => {
    const child = fork(SCRIPTS[run.client], [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let onStopped: (transactions: number) => void = () => undefined;
    const m: Member = { child, assigned: [], assignedAt: 0, stopped: new Promise((r) => (onStopped = r)) };
    child.on('message', (msg) => {
      const r = msg as PassThroughReport;
      if (r.type === 'error') failure ??= new Error(`pass-through: ${r.message}`);
      if (r.type === 'assigned') Object.assign(m, { assigned: r.partitions, assignedAt: r.t });
      if (r.type === 'stopped') onStopped(r.transactions);
    });
    child.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`a pass-through member exited (code ${code})`);
    });
    child.send({ cmd: 'init', ...run.init } satisfies PassThroughInit);
    return m;
  });
  const check = () => {
    if (failure) throw failure;
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      check();
      const owned = members.flatMap((m) => m.assigned);
      const settled = owned.length === run.init.partitions && new Set(owned).size === owned.length && members.every((m) => Date.now() - m.assignedAt >= SETTLE_MS);
      if (settled) break;
      if (Date.now() > deadline) throw new Error(`the pass-through group did not settle within 60s (${owned.length}/${run.init.partitions} partitions assigned)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    run.log(`[ceiling ${run.client}] ${run.members} member(s) settled; releasing the backlog`);
    const rate = await measureDrain({
      admin: run.admin,
      groupId: run.init.groupId,
      topic: run.init.input,
      targets: run.targets,
      release: run.release,
      timeoutMs: run.timeoutMs,
      check,
      progress: (n, total, s) => run.log(`[ceiling ${run.client} ${s.toFixed(0)}s] ${n}/${total} events`),
    });
    for (const m of members) m.child.send({ cmd: 'stop' });
    const transactions = await Promise.race([Promise.all(members.map((m) => m.stopped)), new Promise<number[]>((r) => setTimeout(() => r([]), 15_000))]);
    const { throughput, measuredSeconds, measuredEvents, wallThroughput, points } = rate;
    return { client: run.client, throughput, measuredSeconds, measuredEvents, wallThroughput, members: run.members, transactions: transactions.reduce((a, b) => a + b, 0), points };
  } finally {
    for (const m of members) {
      m.child.removeAllListeners('exit');
      setTimeout(() => m.child.exitCode === null && m.child.kill('SIGKILL'), 3000).unref();
    }
  }
}
