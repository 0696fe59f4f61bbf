// Turns samples (metric scrapes, GC pauses) into the report's figures. Every figure of a phase is
// a difference between the samples at its two boundaries.
import type { GcEvent } from '../measure/gc-probe.ts';
import { EMPTY_HISTOGRAM, bucketMax, delta, quantile } from '../measure/prom.ts';
import type { Histogram } from '../measure/prom.ts';
import type { Sample } from '../measure/scraper.ts';

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

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
  /** the same from nodejs_gc_duration_seconds (buckets from 0.5 ms, doubling) */
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
  /** the largest RSS in LMDB's mapped files, and outside them (each its own maximum; null unread) */
  rssLmdbMaxBytes: number | null;
  rssOtherMaxBytes: number | null;
  backpressure: BackpressureStats;
  gc: GcStats;
}

export interface BackpressureStats {
  /** partitions paused by backpressure in the window (sluice_backpressure_pauses_total growth) */
  pauses: number;
  /** paused partitions resumed in the window (sluice_backpressure_resumes_total growth) */
  resumes: number;
  /** the most partitions paused at once, and bytes in flight, at any scrape in the window */
  pausedPartitionsMax: number;
  inFlightMaxBytes: number;
}

const maxOf = (values: readonly (number | undefined)[]): number | null => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? null : Math.max(...known);
};

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
    rssLmdbMaxBytes: maxOf(inside.map((s) => s.rssLmdb)),
    rssOtherMaxBytes: maxOf(inside.map((s) => s.rssOther)),
    backpressure: {
      pauses: b.pauses - a.pauses,
      resumes: b.resumes - a.resumes,
      pausedPartitionsMax: maxOf(inside.map((s) => s.pausedPartitions)) ?? 0,
      inFlightMaxBytes: maxOf(inside.map((s) => s.inFlightBytes)) ?? 0,
    },
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
