// The report: one JSON file with every figure of a run, and the chart beside it. `Results` is the
// JSON's shape, which the files of earlier runs in bench/results share (rechart.ts redraws them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CeilingResult } from '../ceiling/ceiling.ts';
import type { StateHeapResult } from '../in-process/state-heap.ts';
import type { EnrichmentResult } from '../in-process/enrichment.ts';
import type { LoadClient, Tick } from '../load/client.ts';
import type { DrainRate, Progress } from '../measure/drain.ts';
import type { MainRun, ProfileName } from '../measure/sluice-runs.ts';
import type { Correctness } from '../oracle/correctness.ts';
import type { ClientName } from '../setup/options.ts';
import type { Backlogs, RunPlan } from '../setup/plan.ts';
import { timeline } from './analysis.ts';
import type { TimelinePoint } from './analysis.ts';
import { clientComparison, ratios, sluiceFigures } from './figures.ts';
import type { ClientComparison, Ratios, SluiceFigures } from './figures.ts';
import { chartOf } from './run-chart.ts';
import { evaluateTargets } from './targets.ts';
import type { Target } from './targets.ts';

const NOTES = [
  'Latency is per input record, from its Kafka append time (LogAppendTime topic) to the commit that made its effect visible.',
  'Latency percentiles are bucket-interpolated from sluice_event_latency_seconds deltas between phase boundaries (linear inside a bucket); maxMs is the upper bound of the highest non-empty bucket.',
  "A phase's latency is that of the records committed during it: a backlog built in the burst shows up in the phase after it.",
  'Two profiles: headroom (steady at a small share of the maximum sustainable rate, a burst it can absorb) carries the latency targets; overload (a burst beyond the capacity) shows backpressure and the catch-up.',
  'RSS is split by mapping (/proc/<pid>/smaps): LMDB-mapped (files under the state dir or named *.mdb) and the rest.',
  'GC pauses are observed in the sluice process (bench/measure/gc-probe.ts); gc.histogram repeats prom-client nodejs_gc_duration_seconds for comparison.',
  'Throughput is a backlog drain rate from committed offsets, timed between 20% and 80% of the backlog committed; sluice and the ceiling drain the same events.',
];

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    availableParallelism: availableParallelism(),
    memoryBytes: totalmem(),
    freeMemoryBytesAtStart: freemem(),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${platform()} ${release()}`,
    node: process.version,
  };
}

export interface Results {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  mode: 'quick' | 'full';
  machine: Record<string, unknown>;
  broker: Record<string, unknown>;
  options: Record<string, unknown>;
  pipeline: Record<string, unknown>;
  profile: Record<string, unknown>;
  load: Record<string, unknown>;
  sluice: SluiceFigures;
  ceiling: DrainRate & { members: number; transactions: number; points: Progress[] };
  /** the pass-through ceiling of each client sluice has a sink for, measured in the same run */
  clientCeilings?: Record<string, DrainRate & { members: number; transactions: number }>;
  /** sluice's capacity on each Kafka client against that client's ceiling (`kafka.client`) */
  clients?: ClientComparison;
  /** capacity (backlog drain, events/s) by worker count, and the speedup of the most over one */
  scaling?: { workers: Record<string, number>; speedup: number };
  /** the V8 heap of a lane store holding this many dedupe ids (bench/in-process/state-heap.ts) */
  stateHeap?: StateHeapResult;
  /** what an enrichment lookup per event costs on the hot path (bench/in-process/enrichment.ts) */
  enrichment?: EnrichmentResult;
  /** side measurements that failed (without `clients` or `scaling` then) */
  failures?: string[];
  ratios: Ratios;
  targets: Target[];
  notes: string[];
  /** per profile, seconds since its start */
  timeline: Record<ProfileName, TimelinePoint[]>;
}

/** Everything a run measured, as the phases of bench/run.ts hand it over. */
export interface RunRecord {
  plan: RunPlan;
  startedAt: Date;
  /** the machine as the run started */
  host: Record<string, unknown>;
  backlogs: Backlogs;
  ceilings: Record<ClientName, CeilingResult>;
  main: MainRun;
  /** capacity (events/s) of the same job on one worker, and on the other client; null if that drain failed */
  oneWorker: number | null;
  otherClient: number | null;
  load: Awaited<ReturnType<LoadClient['close']>>;
  ticks: readonly Tick[];
  correctness: Correctness;
  stateHeap: StateHeapResult | undefined;
  enrichment: EnrichmentResult | undefined;
  /** side measurements that failed (a copy's drain), one line each */
  failures: string[];
}

export function buildResults(run: RunRecord): Results {
  const { plan, main, ceilings } = run;
  const { opts, otherClient } = plan;
  const sluice = sluiceFigures(main, run.correctness, run.ticks);
  const partial = { sluice, ratios: ratios(sluice, ceilings[opts.client].throughput), stateHeap: run.stateHeap };
  const finishedAt = new Date();
  return {
    startedAt: run.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - run.startedAt.getTime()) / 1000),
    mode: opts.quick ? 'quick' : 'full',
    machine: { ...run.host, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    broker: { source: plan.broker.source, brokers: plan.broker.brokers, kafkaVersion: plan.broker.kafkaVersion },
    options: { ...opts },
    pipeline: plan.main.raw,
    profile: profileSection(run),
    load: loadSection(run),
    ...partial,
    ceiling: ceilings[opts.client],
    clientCeilings: ceilings,
    ...(run.otherClient === null ? {} : { clients: clientComparison(opts.client, otherClient, { [opts.client]: sluice.throughput, [otherClient]: run.otherClient } as Record<ClientName, number>, ceilings) }),
    ...(run.oneWorker === null ? {} : { scaling: { workers: { 1: Math.round(run.oneWorker), [main.workers]: Math.round(sluice.throughput) }, speedup: Math.round((sluice.throughput / run.oneWorker) * 100) / 100 } }),
    ...(run.enrichment === undefined ? {} : { enrichment: run.enrichment }),
    failures: run.failures,
    targets: evaluateTargets(partial),
    notes: NOTES,
    timeline: { headroom: profileTimeline(run, 'headroom', sluice), overload: profileTimeline(run, 'overload', sluice) },
  };
}

function profileTimeline({ main, ticks }: RunRecord, name: ProfileName, sluice: SluiceFigures): TimelinePoint[] {
  const own = ticks.filter((t) => t.phase.startsWith(`${name}-`));
  return timeline(main.samples, own, sluice[name].steady.fromMs, main[name].result.drained.t);
}

function profileSection({ plan, main, backlogs }: RunRecord): Results['profile'] {
  const { opts } = plan;
  const backlog = { events: backlogs.sluice.produced, ceilingEvents: backlogs.ceiling.produced, produceSeconds: (backlogs.sluice.ms + backlogs.ceiling.ms) / 1000 };
  const search = main.search ?? null;
  const profile = (name: ProfileName) => ({ load: main[name].load, steadyRate: main[name].rate, burstRate: main[name].phases[1]!.rate, phases: main[name].phases, cores: main[name].result.cores });
  return { search, sustainableRate: main.sustainableRate, fixedRate: opts.rate ?? null, burstFactor: opts.burstFactor, headroom: profile('headroom'), overload: profile('overload'), backlog };
}

function loadSection({ plan, load }: RunRecord): Results['load'] {
  const { opts } = plan;
  const duplicateRatio = Math.round((load.duplicates / load.generated) * 1000) / 1000;
  return { generated: load.generated, duplicates: load.duplicates, duplicateRatio, perPartition: load.perPartition, players: opts.players, zipf: opts.zipf, jitterMs: opts.jitterMs };
}

/** `<outDir>/<start, ISO>-<quick|full>.json` and the chart beside it, `.svg`. */
export async function writeResults(r: Results, outDir: string): Promise<{ json: string; svg: string }> {
  const stamp = `${r.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-${r.mode}`;
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, `${stamp}.json`);
  const svg = join(outDir, `${stamp}.svg`);
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(svg, await chartOf(r));
  return { json, svg };
}
