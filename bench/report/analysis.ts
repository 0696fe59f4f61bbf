// Turns samples (metric scrapes, GC pauses, progress counts) into the report's figures. Every
// figure of a phase is a difference between the samples at its two boundaries.
import type { GcEvent } from '../measure/gc-probe.ts';
import { EMPTY_HISTOGRAM, bucketMax, delta, quantile } from '../measure/prom.ts';
import type { Histogram } from '../measure/prom.ts';
import type { Sample } from '../measure/scraper.ts';

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

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
export const DRAIN_WINDOW = [0.2, 0.8] as const;

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
export function drainRate(points: readonly Progress[], total: number): DrainRate {
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
    measuredSeconds: round(seconds, 3),
    measuredEvents: events,
    wallThroughput: wall > 0 ? Math.round(total / wall) : Infinity,
  };
}

export interface LatencyStats {
  records: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  /** upper bound of the highest non-empty bucket */
  maxMs: number | null;
  meanMs: number | null;
}

const ms = (seconds: number | undefined): number | null => (seconds === undefined ? null : Math.round(seconds * 1e5) / 100);

export function latencyStats(h: Histogram): LatencyStats {
  return {
    records: h.count,
    p50Ms: ms(quantile(h, 0.5)),
    p95Ms: ms(quantile(h, 0.95)),
    p99Ms: ms(quantile(h, 0.99)),
    p999Ms: ms(quantile(h, 0.999)),
    maxMs: ms(bucketMax(h)),
    meanMs: h.count > 0 ? ms(h.sum / h.count) : null,
  };
}

export interface GcStats {
  /** V8 isolates seen collecting: the main thread and each worker thread collect separately */
  threads: number;
  count: number;
  totalMs: number;
  /** share of the wall time spent in GC pauses */
  pauseShare: number;
  maxPauseMs: number | null;
  p99PauseMs: number | null;
  byKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
  /** the same from prom-client's nodejs_gc_duration_seconds (coarse buckets: 1, 10, 100 ms...) */
  histogram: { count: number; totalMs: number; p99Ms: number | null; maxBucketMs: number | null };
}

function exactQuantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function gcStats(events: readonly GcEvent[], fromMs: number, toMs: number, a: Sample | undefined, b: Sample): GcStats {
  const inside = events.filter(([t]) => t >= fromMs && t < toMs);
  const byKind: GcStats['byKind'] = {};
  for (const [, kind, d] of inside) {
    const k = (byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
    k.count++;
    k.totalMs = round(k.totalMs + d, 3);
    k.maxMs = round(Math.max(k.maxMs, d), 3);
  }
  const durations = inside.map(([, , d]) => d).sort((x, y) => x - y);
  const totalMs = durations.reduce((s, d) => s + d, 0);
  let hist: Histogram = EMPTY_HISTOGRAM;
  for (const kind of Object.keys(b.gc)) {
    const d = delta(a?.gc[kind] ?? EMPTY_HISTOGRAM, b.gc[kind]!);
    hist = hist.bounds.length === 0 ? d : { ...hist, cumulative: hist.cumulative.map((c, i) => c + (d.cumulative[i] ?? 0)), sum: hist.sum + d.sum, count: hist.count + d.count };
  }
  return {
    threads: new Set(inside.map(([, , , thread]) => thread)).size,
    count: durations.length,
    totalMs: round(totalMs),
    pauseShare: toMs > fromMs ? round(totalMs / (toMs - fromMs), 4) : 0,
    maxPauseMs: durations.length > 0 ? round(durations.at(-1)!, 3) : null,
    p99PauseMs: ((q) => (q === null ? null : round(q, 3)))(exactQuantile(durations, 0.99)),
    byKind,
    histogram: { count: hist.count, totalMs: round(hist.sum * 1000), p99Ms: ms(quantile(hist, 0.99)), maxBucketMs: ms(bucketMax(hist)) },
  };
}

export interface WindowStats {
  fromMs: number;
  toMs: number;
  seconds: number;
  processed: number;
  processedRate: number;
  latency: LatencyStats;
  duplicates: number;
  deadLetters: number;
  outputs: { final: number; update: number };
  commits: number;
  aborts: number;
  /** sluice's CPU time (user + system) per processed event */
  cpuMicrosPerEvent: number | null;
  cpuCores: number;
  allocBytesPerEvent: number | null;
  heapMaxBytes: number;
  rssMaxBytes: number;
  gc: GcStats;
}

/** Everything sluice did between samples `a` and `b`; `all` gives the peaks in between. */
export function windowStats(a: Sample, b: Sample, all: readonly Sample[], gcEvents: readonly GcEvent[]): WindowStats {
  const seconds = (b.t - a.t) / 1000;
  const processed = b.recordsIn - a.recordsIn;
  const inside = all.filter((s) => s.t >= a.t && s.t <= b.t);
  const perEvent = (x: number) => (processed > 0 ? x / processed : null);
  const cpu = b.cpuSeconds - a.cpuSeconds;
  return {
    fromMs: a.t,
    toMs: b.t,
    seconds: round(seconds, 3),
    processed,
    processedRate: seconds > 0 ? Math.round(processed / seconds) : 0,
    latency: latencyStats(delta(a.latency, b.latency)),
    duplicates: b.duplicates - a.duplicates,
    deadLetters: b.deadLetters - a.deadLetters,
    outputs: { final: b.outputsFinal - a.outputsFinal, update: b.outputsUpdate - a.outputsUpdate },
    commits: b.commits - a.commits,
    aborts: b.aborts - a.aborts,
    cpuMicrosPerEvent: ((v) => (v === null ? null : round(v * 1e6, 1)))(perEvent(cpu)),
    cpuCores: seconds > 0 ? round(cpu / seconds) : 0,
    allocBytesPerEvent: ((v) => (v === null ? null : Math.round(v)))(perEvent(b.allocated - a.allocated)),
    heapMaxBytes: Math.max(...inside.map((s) => s.heapUsed)),
    rssMaxBytes: Math.max(...inside.map((s) => s.rss)),
    gc: gcStats(gcEvents, a.t, b.t, a, b),
  };
}

export interface TimelinePoint {
  /** seconds since the profile started, at the end of the interval */
  x: number;
  series: 'produced' | 'processed' | 'p99';
  value: number;
}

/** Per-interval rates and p99 from consecutive scrapes; produced counts from the generator's ticks. */
export function timeline(samples: readonly Sample[], ticks: readonly { endMs: number; produced: number }[], originMs: number, untilMs: number): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  const x = (t: number) => round((t - originMs) / 1000, 2);
  for (const tick of ticks) if (tick.endMs > originMs && tick.endMs <= untilMs + 1000) points.push({ x: x(tick.endMs), series: 'produced', value: tick.produced });
  const inRange = samples.filter((s) => s.t >= originMs && s.t <= untilMs + 1500);
  let a = inRange[0];
  for (const b of inRange.slice(1)) {
    if (a === undefined) break;
    const dt = (b.t - a.t) / 1000;
    // Phase-boundary scrapes land between the 1 s ones; fold them into the next interval.
    if (dt < 0.5) continue;
    points.push({ x: x(b.t), series: 'processed', value: Math.round((b.recordsIn - a.recordsIn) / dt) });
    const p99 = quantile(delta(a.latency, b.latency), 0.99);
    if (p99 !== undefined) points.push({ x: x(b.t), series: 'p99', value: round(p99 * 1000) });
    a = b;
  }
  return points;
}
