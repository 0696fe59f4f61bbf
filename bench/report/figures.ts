// sluice's figures from its main run, the ratios and targets built on them, and the two Kafka
// clients side by side. Targets are evaluated and shown, never asserted: only a wrong result
// fails the run.
import type { CeilingResult } from '../ceiling/ceiling.ts';
import type { StateHeapResult } from '../in-process/state-heap.ts';
import type { PhaseResult } from '../load/protocol.ts';
import type { DrainRate, Progress } from '../measure/drain.ts';
import type { Sample } from '../measure/scraper.ts';
import type { MainRun } from '../measure/sluice-runs.ts';
import type { Correctness } from '../oracle/correctness.ts';
import type { ClientName } from '../setup/options.ts';
import { windowStats } from './analysis.ts';
import type { LatencyStats, WindowStats } from './analysis.ts';

/** A phase: its latency percentiles at top level (`sluice.steady.p99Ms`), then the rest. */
export type PhaseReport = LatencyStats & Omit<WindowStats, 'latency'> & { targetRate?: number; producedRate?: number; produced?: number };

export function phaseReport(w: WindowStats, load?: PhaseResult): PhaseReport {
  const { latency, ...rest } = w;
  const produced = load === undefined ? {} : { targetRate: Math.round(load.targetRate), producedRate: Math.round(load.actualRate), produced: load.produced };
  return { ...latency, ...produced, ...rest };
}

export interface SluiceFigures {
  throughput: number;
  capacity: DrainRate & { window: PhaseReport; points: Progress[] };
  steady: PhaseReport;
  burst: PhaseReport;
  steadyAfter: PhaseReport;
  drain: PhaseReport;
  profile: PhaseReport;
  gc: WindowStats['gc'];
  heapMaxBytes: number;
  rssMaxBytes: number;
  allocBytesPerEvent: number | null;
  cpuMicrosPerEvent: number | null;
  correct: boolean;
  correctness: Correctness;
  /** worker threads (consumer-group members) sluice ran */
  workers: number;
  exitCode: number | null;
}

/** sluice's figures: each phase between its boundary scrapes, peaks and GC over the whole run. */
export function sluiceFigures(run: MainRun, correctness: Correctness): SluiceFigures {
  const { capacity, profile, samples, gcEvents } = run;
  const stats = (a: Sample, b: Sample) => windowStats(a, b, samples, gcEvents);
  const at = (name: string) => profile.boundaries.get(name) ?? profile.productionEnd;
  const whole = stats(capacity.start, run.flushed);
  const all = stats(at('steady'), profile.drained);
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
    steady: phaseReport(stats(at('steady'), at('burst')), profile.phases[0]),
    burst: phaseReport(stats(at('burst'), at('steady-after')), profile.phases[1]),
    steadyAfter: phaseReport(stats(at('steady-after'), profile.productionEnd), profile.phases[2]),
    drain: phaseReport(stats(profile.productionEnd, profile.drained)),
    profile: phaseReport(all),
    gc: whole.gc,
    heapMaxBytes: whole.heapMaxBytes,
    rssMaxBytes: whole.rssMaxBytes,
    allocBytesPerEvent: all.allocBytesPerEvent,
    cpuMicrosPerEvent: all.cpuMicrosPerEvent,
    correct: correctness.correct,
    correctness,
    workers: run.workers,
    exitCode: run.exitCode,
  };
}

export interface Ratios {
  throughput: number;
  burstP99VsSteady: number | null;
  worstAfterBurstP99VsSteady: number | null;
}

export interface Target {
  name: string;
  target: string;
  value: number | boolean | null;
  met: boolean;
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100);

/** the heap target: under this with 5 million dedupe ids */
const STATE_HEAP_LIMIT = 256 * 2 ** 20;
const STATE_HEAP_IDS = 5_000_000;

export function evaluateTargets(r: { sluice: SluiceFigures; ratios: Ratios; stateHeap?: StateHeapResult }): Target[] {
  const s = r.sluice;
  const h = r.stateHeap;
  // Judged only at the size the target names; a quick run's smaller state is still reported.
  const heap: Target[] =
    h === undefined || h.ids < STATE_HEAP_IDS
      ? []
      : [{ name: `heap with ${h.ids} dedupe ids in state`, target: '< 256 MB', value: Math.round(h.heapMaxBytes / 2 ** 20), met: h.heapMaxBytes < STATE_HEAP_LIMIT }];
  const worst = Math.max(s.burst.p99Ms ?? 0, s.steadyAfter.p99Ms ?? 0);
  const steady = s.steady.p99Ms;
  return [
    { name: 'throughput vs ceiling', target: '>= 0.60', value: r.ratios.throughput, met: r.ratios.throughput >= 0.6 },
    { name: 'steady p99 at 70% of the maximum sustainable rate', target: '<= 50 ms', value: steady, met: steady !== null && steady <= 50 },
    { name: 'burst p99 (worst of burst and the steady phase after it)', target: '<= 2x steady p99', value: worst, met: steady !== null && worst <= 2 * steady && s.correct },
    { name: 'nothing lost or double-counted', target: 'oracle agrees', value: s.correct, met: s.correct },
    { name: 'GC max pause', target: '<= 10 ms', value: s.gc.maxPauseMs, met: s.gc.maxPauseMs !== null && s.gc.maxPauseMs <= 10 },
    ...heap,
  ];
}

export function ratios(s: SluiceFigures, ceiling: number): Ratios {
  return {
    throughput: Math.round((s.throughput / ceiling) * 1000) / 1000,
    burstP99VsSteady: ratio(s.burst.p99Ms, s.steady.p99Ms),
    worstAfterBurstP99VsSteady: ratio(Math.max(s.burst.p99Ms ?? 0, s.steadyAfter.p99Ms ?? 0), s.steady.p99Ms),
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
