// One way to measure a backlog drain, for sluice and the ceiling alike: release the backlog (commit
// the transaction that hid it), then poll the consumer group's committed offsets. Committed
// offsets are what exactly-once makes visible, and reading them from outside costs the measured
// process nothing.
import type { BenchAdmin } from '../setup/broker.ts';

export interface Progress {
  t: number;
  /** events processed so far */
  n: number;
}

export interface DrainRate {
  /** events/s while the backlog drained */
  throughput: number;
  measuredSeconds: number;
  measuredEvents: number;
  /** the whole backlog over the time from its release to its last commit: warm-up and tail included */
  wallThroughput: number;
}

/** The drain is timed between these shares of the backlog committed. */
const DRAIN_WINDOW = [0.2, 0.8] as const;

/** When the cumulative count first reached `n`, interpolated linearly between the points around it. */
function timeAt(points: readonly Progress[], n: number): number | undefined {
  const i = points.findIndex((p) => p.n >= n);
  if (i < 0) return undefined;
  const b = points[i]!;
  const a = points[i - 1];
  if (a === undefined || b.n === a.n) return b.t;
  return a.t + ((b.t - a.t) * (n - a.n)) / (b.n - a.n);
}

/**
 * The drain rate of a backlog of `total` events from cumulative progress points, between the
 * moments 20% and 80% of it was committed. Before that, the pipeline fills (the first commits
 * carry work done before them, which would inflate a rate measured from the first commit); after
 * it, partitions finish one by one and the skewed ones run alone. In between, the work in flight
 * is about the same at both ends, so what was committed is what was done.
 */
function drainRate(points: readonly Progress[], total: number): DrainRate {
  const base = points[0]?.n ?? 0;
  const at = (share: number) => timeAt(points, base + share * total);
  const [from, to, done] = [at(DRAIN_WINDOW[0]), at(DRAIN_WINDOW[1]), at(1)];
  if (from === undefined || to === undefined || done === undefined) {
    throw new Error(`the backlog of ${total} events was not drained (${(points.at(-1)?.n ?? 0) - base} seen)`);
  }
  const events = Math.round((DRAIN_WINDOW[1] - DRAIN_WINDOW[0]) * total);
  const seconds = (to - from) / 1000;
  const wall = (done - points[0]!.t) / 1000;
  return {
    throughput: seconds > 0 ? Math.round(events / seconds) : Infinity,
    measuredSeconds: Math.round(seconds * 1000) / 1000,
    measuredEvents: events,
    wallThroughput: wall > 0 ? Math.round(total / wall) : Infinity,
  };
}

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
