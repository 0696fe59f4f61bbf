// The report: one JSON file with every figure, the chart beside it, and a short table on stdout.
// Targets are evaluated and shown, never asserted: only a wrong result fails the run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, platform, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { windowStats } from './analysis.ts';
import type { DrainRate, LatencyStats, Progress, TimelinePoint, WindowStats } from './analysis.ts';
import { chartSpec, renderSvg } from './chart.ts';
import type { Correctness } from '../oracle/correctness.ts';
import type { GcEvent } from '../measure/gc-probe.ts';
import type { PhaseResult } from '../load/protocol.ts';
import type { StateHeapResult } from '../in-process/state-heap.ts';
import type { CapacityResult, ProfileResult } from '../measure/phases.ts';
import type { Sample } from '../measure/scraper.ts';

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

export interface SluiceRun {
  capacity: CapacityResult;
  profile: ProfileResult;
  /** the scrape after the flush events were committed: sluice's final counts */
  flushed: Sample;
  samples: readonly Sample[];
  gcEvents: readonly GcEvent[];
  correctness: Correctness;
  workers: number;
  exitCode: number | null;
}

/** sluice's figures: each phase between its boundary scrapes, peaks and GC over the whole run. */
export function sluiceFigures(run: SluiceRun): Results['sluice'] {
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
    correct: run.correctness.correct,
    correctness: run.correctness,
    workers: run.workers,
    exitCode: run.exitCode,
  };
}

/** A phase: its latency percentiles at top level (`sluice.steady.p99Ms`), then the rest. */
export type PhaseReport = LatencyStats & Omit<WindowStats, 'latency'> & { targetRate?: number; producedRate?: number; produced?: number };

export function phaseReport(w: WindowStats, load?: PhaseResult): PhaseReport {
  const { latency, ...rest } = w;
  const produced = load === undefined ? {} : { targetRate: Math.round(load.targetRate), producedRate: Math.round(load.actualRate), produced: load.produced };
  return { ...latency, ...produced, ...rest };
}

export interface Target {
  name: string;
  target: string;
  value: number | boolean | null;
  met: boolean;
}

export interface ClientFigures {
  throughput: number;
  ceiling: number;
  ratio: number;
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
  sluice: {
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
  };
  ceiling: DrainRate & { members: number; transactions: number; points: Progress[] };
  /** the pass-through ceiling of each client sluice has a sink for, measured in the same run */
  clientCeilings?: Record<string, DrainRate & { members: number; transactions: number }>;
  /** sluice's capacity on each Kafka client against that client's ceiling (`kafka.client`) */
  clients?: { main: string; measuredAlso: string; kafkajs: ClientFigures; platformatic: ClientFigures; platformaticOverKafkajs: number };
  /** capacity (backlog drain, events/s) by worker count, and the speedup of the most over one */
  scaling?: { workers: Record<string, number>; speedup: number };
  /** the V8 heap of a lane store holding this many dedupe ids (bench/in-process/state-heap.ts) */
  stateHeap?: StateHeapResult;
  ratios: { throughput: number; burstP99VsSteady: number | null; worstAfterBurstP99VsSteady: number | null };
  targets: Target[];
  notes: string[];
  timeline: TimelinePoint[];
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100);

/** the issue's heap target: under this with 5 million dedupe ids */
const STATE_HEAP_LIMIT = 256 * 2 ** 20;
const STATE_HEAP_IDS = 5_000_000;

export function evaluateTargets(r: Pick<Results, 'sluice' | 'ratios' | 'stateHeap'>): Target[] {
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

export function ratios(s: Results['sluice'], ceiling: number): Results['ratios'] {
  return {
    throughput: Math.round((s.throughput / ceiling) * 1000) / 1000,
    burstP99VsSteady: ratio(s.burst.p99Ms, s.steady.p99Ms),
    worstAfterBurstP99VsSteady: ratio(Math.max(s.burst.p99Ms ?? 0, s.steadyAfter.p99Ms ?? 0), s.steady.p99Ms),
  };
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const f = (n: number | null | undefined, unit = '') => (n === null || n === undefined ? '-' : `${Number.isInteger(n) ? n : n.toFixed(n < 10 ? 2 : 1)}${unit}`);

export function printTable(r: Results): void {
  const s = r.sluice;
  const rows: [string, PhaseReport][] = [['steady', s.steady], ['burst', s.burst], ['steady after', s.steadyAfter], ['drain', s.drain]];
  const line = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(14) : c.padStart(10))).join(' '));
  console.log('');
  console.log(`sluice bench (${r.mode}) — ${r.startedAt}, ${r.machine.cores} cores, ${r.machine.node}`);
  console.log('');
  line(['phase', 'target/s', 'in/s', 'done/s', 'p50 ms', 'p95 ms', 'p99 ms', 'p99.9 ms', 'max ms*']);
  for (const [name, p] of rows) line([name, f(p.targetRate), f(p.producedRate), f(p.processedRate), f(p.p50Ms), f(p.p95Ms), f(p.p99Ms), f(p.p999Ms), f(p.maxMs)]);
  console.log('  (percentiles bucket-interpolated from sluice_event_latency_seconds; *max = upper bound of the highest bucket)');
  console.log('');
  if (r.clientCeilings) {
    const all = Object.entries(r.clientCeilings).map(([client, c]) => `${client} ${Math.round(c.throughput)}/s`);
    console.log(`ceilings       ${all.join('   ')} (exactly-once pass-through per client, same run)`);
  }
  if (r.clients) {
    const c = r.clients;
    const one = (name: 'kafkajs' | 'platformatic') => `${name} ${c[name].throughput}/s (${c[name].ratio.toFixed(2)} of its ceiling)`;
    console.log(`clients        ${one('kafkajs')}   ${one('platformatic')}: platformatic/kafkajs ${c.platformaticOverKafkajs}x (main run on ${c.main})`);
  }
  const search = r.profile.search as { rate: number | null } | null | undefined;
  if (search) console.log(`sustainable    ${search.rate === null ? 'below the lowest step' : `${search.rate}/s`} (rate stepped up beside the load generator); steady phase at ${String(r.profile.steadyRate)}/s`);
  console.log(`throughput     sluice ${Math.round(s.throughput)}/s (${s.workers} worker(s))   ceiling ${Math.round(r.ceiling.throughput)}/s (${r.ceiling.members} member(s))   ratio ${r.ratios.throughput.toFixed(2)}`);
  console.log(`gc             max pause ${f(s.gc.maxPauseMs, ' ms')}, p99 ${f(s.gc.p99PauseMs, ' ms')}, ${s.gc.count} pauses, ${f(s.gc.pauseShare * 100, '%')} of wall time`);
  console.log(`memory         heap max ${mb(s.heapMaxBytes)}, rss max ${mb(s.rssMaxBytes)}, ${f(s.allocBytesPerEvent)} B allocated/event, ${f(s.cpuMicrosPerEvent)} µs CPU/event`);
  const cores = Object.entries((r.profile.cores ?? {}) as Record<string, number>).map(([name, c]) => `${name} ${c.toFixed(2)}`);
  if (cores.length > 0) console.log(`cpu (cores)    while producing: ${cores.join(', ')} (of ${String(r.machine.cores)})`);
  if (r.scaling) {
    const w = Object.entries(r.scaling.workers).map(([n, t]) => `${n} worker(s) ${t}/s`);
    console.log(`scaling        ${w.join(', ')}: speedup ${r.scaling.speedup}x`);
  }
  if (r.stateHeap) {
    const h = r.stateHeap;
    console.log(`state heap     ${h.ids} dedupe ids: heap max ${mb(h.heapMaxBytes)}, live after GC ${h.liveHeapMaxBytes === null ? '-' : mb(h.liveHeapMaxBytes)} (limit ${mb(h.heapLimitBytes)}), rss max ${mb(h.rssMaxBytes)}, LMDB ${mb(h.lmdbBytes)} on disk`);
  }
  console.log(`correct        ${s.correct ? 'yes' : 'NO'}: ${s.correctness.observed.finals}/${s.correctness.expected.finals} final windows match the oracle, ${s.correctness.observed.duplicates} duplicates dropped`);
  console.log('');
  for (const t of r.targets) console.log(`${t.met ? 'met   ' : 'missed'} ${t.name}: ${t.target} (${typeof t.value === 'number' ? f(t.value) : String(t.value)})`);
}

export async function writeResults(r: Results, outDir: string, stamp: string): Promise<{ json: string; svg: string }> {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, `${stamp}.json`);
  const svg = join(outDir, `${stamp}.svg`);
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(svg, await chartOf(r));
  return { json, svg };
}

/** The SVG chart of a run, from its results alone (rechart.ts redraws old runs with it). */
export async function chartOf(r: Results): Promise<string> {
  const burst = r.sluice.burst;
  const profileStart = r.sluice.steady.fromMs;
  const seconds = (t: number) => (t - profileStart) / 1000;
  return renderSvg(
    chartSpec({
      title: `sluice ${r.mode} bench — ${r.startedAt}`,
      subtitle: `${String(r.machine.cores)} cores, ${String(r.machine.node)}, ${r.sluice.workers} worker(s); steady ${r.sluice.steady.targetRate}/s, burst ${burst.targetRate}/s; p99 steady ${f(r.sluice.steady.p99Ms)} ms, burst ${f(burst.p99Ms)} ms; ${r.sluice.correct ? 'correct' : 'INCORRECT'}`,
      points: r.timeline,
      burst: { from: seconds(burst.fromMs), to: seconds(burst.toMs), label: `burst ${String(r.profile.burstFactor)}x` },
      productionEnd: seconds(r.sluice.steadyAfter.toMs),
      drainEnd: seconds(r.sluice.drain.toMs),
      capacity: r.sluice.throughput,
      p99TargetMs: 50,
    }),
  );
}
