// The two sluice measurements, on one running sluice: the capacity (drain a pre-produced backlog
// as fast as it can) and a rate profile (steady, burst, steady, then drain), with a scrape at
// every phase boundary so each phase's figures are exact differences.
import type { DrainRate, Progress } from './drain.ts';
import { measureDrain } from './drain.ts';
import { coresBetween, cpuOf } from './proc.ts';
import type { BenchAdmin } from '../setup/broker.ts';
import type { LoadClient } from '../load/client.ts';
import type { PhaseResult, ProfilePhase } from '../load/protocol.ts';
import { quantile, delta } from './prom.ts';
import type { Sample, Scraper } from './scraper.ts';
import type { SluiceProcess } from './sluice-process.ts';

export interface Ctx {
  admin: BenchAdmin;
  load: LoadClient;
  sluice: SluiceProcess;
  scraper: Scraper;
  groupId: string;
  inputTopic: string;
  /** open lanes (summed over sluice's workers) once its group has settled */
  lanes: number;
  /** other processes on this machine whose CPU use is reported beside sluice's */
  neighbours: Record<string, number | undefined>;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ensureAlive(ctx: Ctx): void {
  if (!ctx.sluice.alive()) throw new Error(`sluice exited (code ${ctx.sluice.child.exitCode}). Last lines of ${ctx.sluice.logFile}:\n${ctx.sluice.logTail()}`);
}

async function scrape(ctx: Ctx): Promise<Sample> {
  for (let i = 0; i < 20; i++) {
    const s = await ctx.scraper.scrapeNow();
    if (s) return s;
    ensureAlive(ctx);
    await sleep(100);
  }
  throw new Error(`sluice's metrics endpoint ${ctx.scraper.url} stopped answering`);
}

const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;

function describe(a: Sample, b: Sample): string {
  const dt = (b.t - a.t) / 1000;
  const p99 = quantile(delta(a.latency, b.latency), 0.99);
  const rate = dt > 0 ? Math.round((b.recordsIn - a.recordsIn) / dt) : 0;
  const paused = b.pauses > a.pauses || b.pausedPartitions > 0 ? `, ${b.pauses - a.pauses} pause(s), ${b.pausedPartitions} paused, ${mb(b.inFlightBytes)} in flight` : '';
  return `processed ${rate}/s, p99 ${p99 === undefined ? '-' : `${Math.round(p99 * 1000)} ms`}, heap ${mb(b.heapUsed)}, rss ${mb(b.rss)}${paused}`;
}

export interface CapacityResult extends DrainRate {
  start: Sample;
  end: Sample;
  /** the group's committed total over time, from just before the release */
  points: Progress[];
}

/** sluice counts as settled once every partition has had an open lane for this long */
const SETTLE_MS = 1500;

/** Until sluice answers and every lane has been open for SETTLE_MS. */
async function waitUntilSettled(ctx: Ctx): Promise<void> {
  // A sluice that died at startup says why in its log, which the cleanup deletes.
  await ctx.scraper.waitUntilUp(90_000, () => ctx.sluice.alive()).catch((err: unknown) => {
    ensureAlive(ctx);
    throw err;
  });
  let settledSince: number | undefined;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await scrape(ctx);
    if (s.lanes !== ctx.lanes) settledSince = undefined;
    else settledSince ??= s.t;
    if (settledSince !== undefined && s.t - settledSince >= SETTLE_MS) return;
    if (Date.now() > deadline) throw new Error(`sluice did not open its ${ctx.lanes} lanes within 60s (${s.lanes} open); the end of its log:\n${ctx.sluice.logTail()}`);
    await sleep(250);
  }
}

/**
 * Starts measuring once sluice is up and its group settled (workers join one after another, and
 * each join moves partitions), then releases the backlog and times its drain.
 */
export async function measureCapacity(ctx: Ctx, targets: readonly number[], release: () => Promise<void>, timeoutMs: number): Promise<CapacityResult> {
  const { scraper, log } = ctx;
  await waitUntilSettled(ctx);
  log(`[capacity] sluice up (${ctx.sluice.workers()} worker(s), ${ctx.lanes} lanes); releasing the backlog`);
  // Fine-grained while draining: the drain may take only a few seconds.
  scraper.every(250);
  const start = await scrape(ctx);
  let printed = start;
  const drain = await measureDrain({
    admin: ctx.admin,
    groupId: ctx.groupId,
    topic: ctx.inputTopic,
    targets,
    release,
    timeoutMs,
    check: () => ensureAlive(ctx),
    progress: (n, total, s) => {
      const last = scraper.samples.at(-1)!;
      log(`[capacity ${s.toFixed(0)}s] ${n}/${total} events committed, ${describe(printed, last)}`);
      printed = last;
    },
  });
  scraper.stop();
  const end = await scrape(ctx);
  log(`[capacity] sluice drained ${drain.measuredEvents} events at ${Math.round(drain.throughput)}/s (measured over ${drain.measuredSeconds.toFixed(1)}s)`);
  const { throughput, measuredSeconds, measuredEvents, wallThroughput, points } = drain;
  return { throughput, measuredSeconds, measuredEvents, wallThroughput, points, start, end };
}

export interface ProfileResult {
  phases: PhaseResult[];
  /** cores each process used while the load generator produced */
  cores: Record<string, number>;
  /** the scrape taken as each phase started, by phase name */
  boundaries: Map<string, Sample>;
  productionEnd: Sample;
  drained: Sample;
}

export async function runProfile(ctx: Ctx, phases: ProfilePhase[], drainTimeoutMs: number): Promise<ProfileResult> {
  const { scraper, load, log } = ctx;
  const boundaries = new Map<string, Promise<Sample>>();
  let current = phases[0]?.name ?? '';
  let phaseStart = Date.now();
  load.onPhase = (name, startMs) => {
    current = name;
    phaseStart = startMs;
    const rate = phases.find((p) => p.name === name)?.rate ?? 0;
    log(`[profile] ${name}: ${Math.round(rate)} events/s`);
    boundaries.set(name, scrape(ctx));
  };
  let produced: number | undefined;
  load.onTick = (t) => (produced = t.produced);
  let prev: Sample | undefined;
  scraper.onSample = (s) => {
    if (prev && s.t - prev.t >= 900) {
      log(`[${current} ${Math.floor((s.t - phaseStart) / 1000)}s] produced ${produced ?? '-'}/s, ${describe(prev, s)}`);
      prev = s;
    } else if (!prev) prev = s;
  };
  scraper.every(1000);
  const pids = { sluice: ctx.sluice.child.pid, loadGenerator: ctx.load.pid, ...ctx.neighbours };
  const cpuStart = cpuOf(pids);
  const started = Date.now();
  const { phases: results, targets } = await load.profile(phases);
  const cores = coresBetween(cpuStart, cpuOf(pids), (Date.now() - started) / 1000);
  const productionEnd = await scrape(ctx);
  current = 'drain';
  phaseStart = productionEnd.t;
  log(`[profile] production done; waiting for sluice to commit the end of every partition`);
  await ctx.admin.waitForCommitted(ctx.groupId, ctx.inputTopic, targets, drainTimeoutMs, () => ensureAlive(ctx));
  const drained = await scrape(ctx);
  scraper.onSample = () => undefined;
  const resolved = new Map<string, Sample>();
  for (const [name, p] of boundaries) resolved.set(name, await p);
  return { phases: results, cores, boundaries: resolved, productionEnd, drained };
}

/** Produces the flush events and waits until sluice committed them: every window has closed. */
export async function flushWindows(ctx: Ctx, timeoutMs: number): Promise<Sample> {
  ctx.scraper.stop();
  const targets = await ctx.load.flush();
  await ctx.admin.waitForCommitted(ctx.groupId, ctx.inputTopic, targets, timeoutMs, () => ensureAlive(ctx));
  // A lane counts a chunk once its Kafka transaction and then its LMDB commit are done, so the
  // group's offset can be seen a moment before the counters: read them until they stand still.
  let last = await scrape(ctx);
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const s = await scrape(ctx);
    if (s.recordsIn === last.recordsIn && s.duplicates === last.duplicates && s.deadLetters === last.deadLetters && s.outputsFinal === last.outputsFinal) return s;
    last = s;
  }
  ctx.log('[flush] sluice\'s counters still moved 5 s after the group committed the end; checking with the last scrape');
  return last;
}
