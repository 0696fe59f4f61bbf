// sluice's runs in a benchmark, each `sluice run` as a child process: the main run (capacity,
// the search for the maximum sustainable rate, the steady → burst → steady profile, the flush that
// closes every window), and the drains of the backlog's copies by the same job in another
// configuration (one worker, the other Kafka client).
import { join } from 'node:path';
import type { LoadClient } from '../load/client.ts';
import type { ProfilePhase } from '../load/protocol.ts';
import type { BenchAdmin } from '../setup/broker.ts';
import type { BenchOptions } from '../setup/options.ts';
import { expectedLanes } from '../setup/pipeline-config.ts';
import type { RunPipeline } from '../setup/pipeline-config.ts';
import type { RunPlan } from '../setup/plan.ts';
import type { GcEvent } from './gc-probe.ts';
import { flushWindows, measureCapacity, runProfile } from './phases.ts';
import type { CapacityResult, Ctx, ProfileResult } from './phases.ts';
import { Scraper } from './scraper.ts';
import type { Sample } from './scraper.ts';
import { SluiceProcess } from './sluice-process.ts';
import { findSustainableRate } from './sustainable.ts';
import type { SustainableResult } from './sustainable.ts';

type Log = (line: string) => void;

export interface MainRun {
  capacity: CapacityResult;
  /** undefined with a fixed --rate */
  search: SustainableResult | undefined;
  /** the steady rate (events/s) */
  rate: number;
  phases: ProfilePhase[];
  profile: ProfileResult;
  /** the scrape after the flush events were committed: sluice's final counts */
  flushed: Sample;
  exitCode: number | null;
  /** worker threads (consumer-group members) sluice ran */
  workers: number;
  samples: readonly Sample[];
  gcEvents: readonly GcEvent[];
}

/** steady, a burst at `burstFactor` times the rate, steady again */
function profilePhases(opts: BenchOptions, rate: number): ProfilePhase[] {
  return [
    { name: 'steady', rate, seconds: opts.steadySeconds },
    { name: 'burst', rate: Math.round(rate * opts.burstFactor), seconds: opts.burstSeconds },
    { name: 'steady-after', rate, seconds: opts.steadySeconds },
  ];
}

/** The main run, from starting sluice on its hidden backlog to stopping it once every window closed. */
export async function measureMain(plan: RunPlan, admin: BenchAdmin, load: LoadClient, backlog: readonly number[], ceilingMembers: number, log: Log): Promise<MainRun> {
  const { opts, main } = plan;
  const { config } = main;
  log(`[capacity] starting sluice; its ${opts.backlog}-event backlog stays hidden until the group has settled`);
  const sluice = new SluiceProcess(main.path, join(main.dir, 'sluice.log'));
  const scraper = new Scraper(config.metrics.port, sluice.child.pid);
  try {
    const lanes = expectedLanes(config, opts.partitions);
    const ctx: Ctx = { admin, load, sluice, scraper, groupId: config.application.id, inputTopic: config.input.topic, lanes, neighbours: { broker: plan.broker.pid }, log };
    const capacity = await measureCapacity(ctx, backlog, async () => void (await load.release(config.input.topic)), plan.drainTimeoutMs);
    const workers = sluice.workers();
    if (workers !== ceilingMembers) log(`[capacity] note: sluice runs ${workers} worker(s), the ceiling ran ${ceilingMembers} member(s)`);
    // The steady phase is a share of what sluice keeps up with beside the load generator, found
    // by stepping the rate up; a fixed --rate skips the search.
    const search = opts.rate === undefined ? await findSustainableRate(ctx, capacity.throughput, opts.stepSeconds, plan.drainTimeoutMs) : undefined;
    const rate = opts.rate ?? Math.max(1, Math.round(opts.load * (search?.rate ?? capacity.throughput)));
    const phases = profilePhases(opts, rate);
    const profile = await runProfile(ctx, phases, 10 * 60_000);
    const flushed = await flushWindows(ctx, 120_000);
    const exitCode = await sluice.stop();
    return { capacity, search, rate, phases, profile, flushed, exitCode, workers, samples: scraper.samples, gcEvents: sluice.gcEvents };
  } finally {
    scraper.stop();
    if (sluice.alive()) await sluice.stop(10_000);
  }
}

export interface CopyDrain {
  admin: BenchAdmin;
  load: LoadClient;
  partitions: number;
  /** per partition, the records of the copy's backlog */
  backlog: readonly number[];
  timeoutMs: number;
}

/** Drains a copy of the backlog with another configuration of the job; returns its capacity. */
export async function drainCopy(label: string, run: RunPipeline, shared: CopyDrain, log: Log): Promise<number> {
  const { admin, load } = shared;
  const { config } = run;
  const tag = label.replace(/ /g, '-');
  log(`[${tag}] the same job with ${label}, draining its own copy of the backlog`);
  const sluice = new SluiceProcess(run.path, join(run.dir, 'sluice.log'));
  const scraper = new Scraper(config.metrics.port, sluice.child.pid);
  try {
    const lanes = expectedLanes(config, shared.partitions);
    const ctx: Ctx = { admin, load, sluice, scraper, groupId: config.application.id, inputTopic: config.input.topic, lanes, neighbours: {}, log: (line) => log(line.replace('[capacity', `[${tag}`)) };
    const capacity = await measureCapacity(ctx, shared.backlog, async () => void (await load.release(config.input.topic)), shared.timeoutMs);
    log(`[${tag}] drained at ${Math.round(capacity.throughput)}/s`);
    return capacity.throughput;
  } finally {
    scraper.stop();
    await sluice.stop(30_000);
  }
}
