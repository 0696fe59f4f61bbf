// The ceilings: each client's pass-through (pass-through-kafkajs.ts, pass-through-platformatic.ts)
// as `members` child processes in one consumer group (as many as sluice has workers). Waits for
// the group to settle, releases the backlog and measures the drain from the group's committed
// offsets, exactly as for sluice.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadClient } from '../load/client.ts';
import type { DrainRate, Progress } from '../measure/drain.ts';
import { measureDrain } from '../measure/drain.ts';
import type { BenchAdmin } from '../setup/broker.ts';
import type { ClientName } from '../setup/options.ts';
import { expectedWorkers } from '../setup/pipeline-config.ts';
import type { RunPlan } from '../setup/plan.ts';
import type { PassThroughInit, PassThroughReport } from './pass-through-member.ts';

/** the pass-through member of each client: same IPC protocol, same chunking */
const SCRIPTS: Record<ClientName, string> = {
  kafkajs: fileURLToPath(new URL('./pass-through-kafkajs.ts', import.meta.url)),
  platformatic: fileURLToPath(new URL('./pass-through-platformatic.ts', import.meta.url)),
};
/** a group counts as settled once no member's assignment changed for this long */
const SETTLE_MS = 1500;

export interface CeilingResult extends DrainRate {
  client: ClientName;
  members: number;
  transactions: number;
  points: Progress[];
}

interface CeilingRun {
  client: ClientName;
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

/** Until every partition has one owner and no assignment changed for SETTLE_MS; `check` throws on a member's failure. */
async function waitUntilSettled(members: readonly Member[], partitions: number, check: () => void): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    check();
    const owned = members.flatMap((m) => m.assigned);
    const settled = owned.length === partitions && new Set(owned).size === owned.length && members.every((m) => Date.now() - m.assignedAt >= SETTLE_MS);
    if (settled) return;
    if (Date.now() > deadline) throw new Error(`the pass-through group did not settle within 60s (${owned.length}/${partitions} partitions assigned)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runCeiling(run: CeilingRun): Promise<CeilingResult> {
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
    await waitUntilSettled(members, run.init.partitions, check);
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

/**
 * Each client's ceiling, kafkajs first, each draining its own copy of the ceiling backlog
 * (`backlog` records per partition): sluice on a client is compared with that client's ceiling.
 */
export async function measureCeilings(plan: RunPlan, admin: BenchAdmin, load: LoadClient, backlog: readonly number[], log: (line: string) => void): Promise<Record<ClientName, CeilingResult>> {
  const { opts, main } = plan;
  const members = opts.ceilingMembers ?? expectedWorkers(main.config);
  const { maxRecords, maxBytes } = main.config.batching;
  const ceilingOf = async (client: ClientName): Promise<CeilingResult> => {
    const { input, output, groupId } = plan.ceilings[client];
    log(`[ceiling ${client}] pass-through consume -> produce -> sendOffsets -> commit, one transactional producer per partition, ${members} member(s)`);
    const init = { brokers: plan.broker.brokers, input, output, groupId, partitions: opts.partitions, maxRecords, maxBytes };
    const release = async () => void (await load.release(input));
    const result = await runCeiling({ client, init, members, admin, release, targets: backlog, timeoutMs: plan.drainTimeoutMs, log });
    log(`[ceiling ${client}] drained at ${Math.round(result.throughput)}/s (measured over ${result.measuredSeconds.toFixed(1)}s, ${result.transactions} transactions)`);
    if (!opts.keep) await admin.deleteTopics([input, output]).catch(() => undefined);
    return result;
  };
  return { kafkajs: await ceilingOf('kafkajs'), platformatic: await ceilingOf('platformatic') };
}
