// One way to measure a backlog drain, for sluice and the ceiling alike: release the backlog (commit
// the transaction that hid it), then poll the consumer group's committed offsets. Committed
// offsets are what exactly-once makes visible, and reading them from outside costs the measured
// process nothing.
import { drainRate } from '../report/analysis.ts';
import type { DrainRate, Progress } from '../report/analysis.ts';
import type { BenchAdmin } from '../setup/broker.ts';

/** fine enough to time a drain that lasts a second or two */
const POLL_MS = 50;

export interface DrainRun {
  admin: BenchAdmin;
  groupId: string;
  topic: string;
  /** per partition, the offset the group must commit for the backlog to count as drained */
  targets: readonly number[];
  release: () => Promise<void>;
  timeoutMs: number;
  /** throws if the process under test died */
  check: () => void;
  progress: (done: number, total: number, elapsedS: number) => void;
}

export interface Drain extends DrainRate {
  releasedAt: number;
  doneAt: number;
  points: Progress[];
}

export async function measureDrain(run: DrainRun): Promise<Drain> {
  const { admin, groupId, topic, targets } = run;
  const total = targets.reduce((a, b) => a + b, 0);
  const before = await admin.committedTotal(groupId, topic);
  const points: Progress[] = [{ t: Date.now(), n: before }];
  await run.release();
  const releasedAt = Date.now();
  let lastPrint = releasedAt;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    run.check();
    const committed = await admin.committed(groupId, topic);
    const t = Date.now();
    let n = 0;
    for (const offset of committed.values()) n += Math.max(0, offset);
    points.push({ t, n });
    if (t - lastPrint >= 1000) {
      lastPrint = t;
      run.progress(n - before, total, (t - releasedAt) / 1000);
    }
    if (targets.every((target, p) => target === 0 || (committed.get(p) ?? -1) >= target)) break;
    if (t - releasedAt > run.timeoutMs) throw new Error(`group ${groupId} did not drain ${total} events on ${topic} within ${run.timeoutMs / 1000}s (${n - before} committed)`);
  }
  const doneAt = points.at(-1)!.t;
  return { ...drainRate(points, total), releasedAt, doneAt, points };
}
