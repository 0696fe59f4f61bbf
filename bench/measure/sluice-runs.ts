// sluice's runs in a benchmark, each `sluice run` as a child process: the main run (capacity,
// the search for the maximum sustainable rate, the headroom and overload profiles, each steady →
// burst → steady, the flush that closes every window), and the drains of the backlog's copies by
// the same job in another configuration (one worker, the other Kafka client).
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

/** The two rate profiles: `headroom` bursts to what sluice can absorb, `overload` beyond it. */
export type ProfileName = 'headroom' | 'overload';

export interface ProfileRun {
  /** the steady rate as a share of the maximum sustainable rate */
  load: number;
  /** the steady rate (events/s) */
  rate: number;
  phases: ProfilePhase[];
  result: ProfileResult;
}

export interface MainRun {
  capacity: CapacityResult;
  /** undefined with a fixed --rate */
  search: SustainableResult | undefined;
  /** what the profiles' rates are shares of (events/s): the search's answer or --rate */
  sustainableRate: number;
  headroom: ProfileRun;
  overload: ProfileRun;
  /** the scrape after the flush events were committed: sluice's final counts */
  flushed: Sample;
  exitCode: number | null;
  /** worker threads (consumer-group members) sluice ran */
  workers: number;
  samples: readonly Sample[];
  gcEvents: readonly GcEvent[];
  /** backpressure.maxInFlightBytes of the run's config: per worker */
  maxInFlightBytes: number;
}

/** The phase names of a profile: `<profile>-steady`, `-burst`, `-after`. */
export const phaseName = (profile: ProfileName, phase: 'steady' | 'burst' | 'after') => `${profile}-${phase}`;

/** steady, a burst at `burstFactor` times the rate, steady again */
function profilePhases(opts: BenchOptions, profile: ProfileName, rate: number): ProfilePhase[] {
  return [
    { name: phaseName(profile, 'steady'), rate, seconds: profile === 'headroom' ? opts.steadySeconds : opts.overloadSteadySeconds },
    { name: phaseName(profile, 'burst'), rate: Math.round(rate * opts.burstFactor), seconds: opts.burstSeconds },
    { name: phaseName(profile, 'after'), rate, seconds: opts.afterSeconds },
  ];
}

/** One profile, then the drain until sluice has committed the end of every partition. */
async function runNamedProfile(ctx: Ctx, opts: BenchOptions, profile: ProfileName, sustainableRate: number): Promise<ProfileRun> {
  const load = profile === 'headroom' ? opts.headroomLoad : opts.load;
  const rate = Math.max(1, Math.round(load * sustainableRate));
  ctx.log(`[${profile}] steady at ${Math.round(load * 100)}% of ${sustainableRate}/s, ${opts.burstFactor}x burst, steady again`);
  const phases = profilePhases(opts, profile, rate);
  const result = await runProfile(ctx, phases, 10 * 60_000);
  return { load, rate, phases, result };
}

/** The main run, from starting sluice on its hidden backlog to stopping it once every window closed. */
export async function measureMain(plan: RunPlan, admin: BenchAdmin, load: LoadClient, backlog: readonly number[], ceilingMembers: number, log: Log): Promise<MainRun> {
  const { opts, main } = plan;
  const { config } = main;
  log(`[capacity] starting sluice; its ${opts.backlog}-event backlog stays hidden until the group has settled`);
  const sluice = new SluiceProcess(main.path, join(main.dir, 'sluice.log'));
  const scraper = new Scraper(config.http.port, sluice.child.pid, config.application.stateDir);
  try {
    const lanes = expectedLanes(config, opts.partitions);
    const ctx: Ctx = { admin, load, sluice, scraper, groupId: config.application.id, inputTopic: config.input.topic, lanes, neighbours: { broker: plan.broker.pid }, log };
    const capacity = await measureCapacity(ctx, backlog, async () => void (await load.release(config.input.topic)), plan.drainTimeoutMs);
    const workers = sluice.workers();
    if (workers !== ceilingMembers) log(`[capacity] note: sluice runs ${workers} worker(s), the ceiling ran ${ceilingMembers} member(s)`);
    // The steady phase is a share of what sluice keeps up with beside the load generator, found
    // by stepping the rate up; a fixed --rate skips the search.
    const search = opts.rate === undefined ? await findSustainableRate(ctx, capacity.throughput, opts.stepSeconds, plan.drainTimeoutMs) : undefined;
    const sustainableRate = opts.rate ?? search?.rate ?? Math.round(capacity.throughput);
    // Headroom first, on a drained pipeline: the overload's backlog must not colour it.
    const headroom = await runNamedProfile(ctx, opts, 'headroom', sustainableRate);
    const overload = await runNamedProfile(ctx, opts, 'overload', sustainableRate);
    const flushed = await flushWindows(ctx, 120_000);
    const exitCode = await sluice.stop();
    const { maxInFlightBytes } = config.backpressure;
    return { capacity, search, sustainableRate, headroom, overload, flushed, exitCode, workers, samples: scraper.samples, gcEvents: sluice.gcEvents, maxInFlightBytes };
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
  const scraper = new Scraper(config.http.port, sluice.child.pid);
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
