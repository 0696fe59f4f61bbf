// sluice's figures from its main run (the capacity, and each profile phase by phase), the ratios
// built on them, and the two Kafka clients side by side. The targets are in targets.ts.
import type { CeilingResult } from '../ceiling/ceiling.ts';
import type { Tick } from '../load/client.ts';
import type { PhaseResult } from '../load/protocol.ts';
import type { DrainRate, Progress } from '../measure/drain.ts';
import type { Sample } from '../measure/scraper.ts';
import { phaseName } from '../measure/sluice-runs.ts';
import type { MainRun, ProfileName } from '../measure/sluice-runs.ts';
import type { Correctness } from '../oracle/correctness.ts';
import type { ClientName } from '../setup/options.ts';
import { windowStats } from './analysis.ts';
import type { LatencyStats, WindowStats } from './analysis.ts';
import { catchUp } from './catch-up.ts';
import type { CatchUp } from './catch-up.ts';

/** A phase: its latency percentiles at top level (`sluice.steady.p99Ms`), then the rest. */
export type PhaseReport = LatencyStats & Omit<WindowStats, 'latency'> & { targetRate?: number; producedRate?: number; produced?: number };

export function phaseReport(w: WindowStats, load?: PhaseResult): PhaseReport {
  const { latency, ...rest } = w;
  const produced = load === undefined ? {} : { targetRate: Math.round(load.targetRate), producedRate: Math.round(load.actualRate), produced: load.produced };
  return { ...latency, ...produced, ...rest };
}

/** A profile: steady, burst and after (the minute after the burst in a full run), the drain, and all of it. */
export interface ProfileFigures {
  /** the steady rate as a share of the maximum sustainable rate */
  load: number;
  steadyRate: number;
  burstRate: number;
  steady: PhaseReport;
  burst: PhaseReport;
  after: PhaseReport;
  drain: PhaseReport;
  /** from the steady phase's start to the drained pipeline */
  whole: PhaseReport;
  /** the time to work off the burst, against the physical bound */
  catchUp: CatchUp | null;
}

/** The overload profile also shows whether backpressure bounded the heap. */
export interface OverloadFigures extends ProfileFigures {
  backpressure: BackpressureBound;
}

export interface BackpressureBound {
  /** backpressure.maxInFlightBytes (per worker) times the workers: the in-flight bound of the process */
  boundBytes: number;
  maxInFlightBytesPerWorker: number;
  /** the overload profile's pauses and resumes, most paused partitions and in-flight bytes at any scrape */
  pauses: number;
  resumes: number;
  pausedPartitionsMax: number;
  inFlightMaxBytes: number;
  heapMaxBytes: number;
  /** the headroom profile's heap max: the heap without a backlog */
  baselineHeapMaxBytes: number;
  /** heap max <= baseline + bound */
  bounded: boolean;
}

export interface SluiceFigures {
  throughput: number;
  capacity: DrainRate & { window: PhaseReport; points: Progress[] };
  /** what the profiles' rates are shares of: the search's answer, --rate, or the capacity */
  sustainableRate: number;
  headroom: ProfileFigures;
  overload: OverloadFigures;
  /** GC, heap and RSS over the whole run (capacity, search, both profiles, flush) */
  gc: WindowStats['gc'];
  heapMaxBytes: number;
  rssMaxBytes: number;
  /** RSS in LMDB's mapped files and outside them, each its largest (/proc/<pid>/smaps) */
  rssLmdbMaxBytes: number | null;
  rssOtherMaxBytes: number | null;
  /**
   * over the overload profile: under load, where a transaction's fixed costs spread over many
   * events (the headroom profile's, in its `whole`, is higher at a third of the rate)
   */
  allocBytesPerEvent: number | null;
  cpuMicrosPerEvent: number | null;
  correct: boolean;
  correctness: Correctness;
  /** worker threads (consumer-group members) sluice ran */
  workers: number;
  exitCode: number | null;
}

type Stats = (a: Sample, b: Sample) => WindowStats;

function profileFigures(name: ProfileName, run: MainRun, stats: Stats, ticks: readonly Tick[]): ProfileFigures {
  const p = run[name];
  const { boundaries, productionEnd, drained, phases } = p.result;
  const at = (phase: 'steady' | 'burst' | 'after') => boundaries.get(phaseName(name, phase)) ?? productionEnd;
  return {
    load: p.load,
    steadyRate: p.rate,
    burstRate: p.phases[1]!.rate,
    steady: phaseReport(stats(at('steady'), at('burst')), phases[0]),
    burst: phaseReport(stats(at('burst'), at('after')), phases[1]),
    after: phaseReport(stats(at('after'), productionEnd), phases[2]),
    drain: phaseReport(stats(productionEnd, drained)),
    whole: phaseReport(stats(at('steady'), drained)),
    catchUp: catchUp(name, p, run.samples, ticks, run.capacity.throughput, run.sustainableRate) ?? null,
  };
}

function backpressureBound(run: MainRun, headroom: ProfileFigures, overload: ProfileFigures): BackpressureBound {
  const w = overload.whole;
  const boundBytes = run.maxInFlightBytes * run.workers;
  const baselineHeapMaxBytes = headroom.whole.heapMaxBytes;
  return {
    boundBytes,
    maxInFlightBytesPerWorker: run.maxInFlightBytes,
    ...w.backpressure,
    heapMaxBytes: w.heapMaxBytes,
    baselineHeapMaxBytes,
    bounded: w.heapMaxBytes <= baselineHeapMaxBytes + boundBytes,
  };
}

/** sluice's figures: each phase between its boundary scrapes, peaks and GC over the whole run. */
export function sluiceFigures(run: MainRun, correctness: Correctness, ticks: readonly Tick[]): SluiceFigures {
  const { capacity, samples, gcEvents } = run;
  const stats: Stats = (a, b) => windowStats(a, b, samples, gcEvents);
  const whole = stats(capacity.start, run.flushed);
  const headroom = profileFigures('headroom', run, stats, ticks);
  const overloadBase = profileFigures('overload', run, stats, ticks);
  const overload = { ...overloadBase, backpressure: backpressureBound(run, headroom, overloadBase) };
  return {
    throughput: capacity.throughput,
    capacity: {
      throughput: capacity.throughput,
      measuredSeconds: capacity.measuredSeconds,
      measuredEvents: capacity.measuredEvents,
      wallThroughput: capacity.wallThroughput,
      window: phaseReport(stats(capacity.start, capacity.end)),
      points: capacity.points,
    },
    sustainableRate: run.sustainableRate,
    headroom,
    overload,
    gc: whole.gc,
    heapMaxBytes: whole.heapMaxBytes,
    rssMaxBytes: whole.rssMaxBytes,
    rssLmdbMaxBytes: whole.rssLmdbMaxBytes,
    rssOtherMaxBytes: whole.rssOtherMaxBytes,
    allocBytesPerEvent: overload.whole.allocBytesPerEvent,
    cpuMicrosPerEvent: overload.whole.cpuMicrosPerEvent,
    correct: correctness.correct,
    correctness,
    workers: run.workers,
    exitCode: run.exitCode,
  };
}

export interface Ratios {
  throughput: number;
  /** the headroom profile's burst and after-burst p99 over its steady p99 */
  burstP99VsSteady: number | null;
  afterBurstP99VsSteady: number | null;
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100);

export function ratios(s: SluiceFigures, ceiling: number): Ratios {
  const h = s.headroom;
  return {
    throughput: Math.round((s.throughput / ceiling) * 1000) / 1000,
    burstP99VsSteady: ratio(h.burst.p99Ms, h.steady.p99Ms),
    afterBurstP99VsSteady: ratio(h.after.p99Ms, h.steady.p99Ms),
  };
}

export interface ClientFigures {
  throughput: number;
  ceiling: number;
  ratio: number;
}

export interface ClientComparison {
  main: ClientName;
  measuredAlso: ClientName;
  kafkajs: ClientFigures;
  platformatic: ClientFigures;
  platformaticOverKafkajs: number;
}

/** sluice on each client against that client's ceiling: the measurement behind the default client. */
export function clientComparison(main: ClientName, measuredAlso: ClientName, throughputs: Record<ClientName, number>, ceilings: Record<ClientName, CeilingResult>): ClientComparison {
  const of = (client: ClientName) => ({ throughput: Math.round(throughputs[client]), ceiling: Math.round(ceilings[client].throughput), ratio: Math.round((throughputs[client] / ceilings[client].throughput) * 1000) / 1000 });
  const kafkajs = of('kafkajs');
  const platformatic = of('platformatic');
  return { main, measuredAlso, kafkajs, platformatic, platformaticOverKafkajs: Math.round((platformatic.throughput / kafkajs.throughput) * 100) / 100 };
}
