// Scrapes sluice's /metrics on a timer (and on demand at phase boundaries) and keeps the figures
// the report needs from each scrape. Every later number is a difference between two samples.
import { procStats, rssSplit } from './proc.ts';
import { EMPTY_HISTOGRAM, histogram, labelValues, parsePrometheus, total } from './prom.ts';
import type { Histogram } from './prom.ts';

export interface Sample {
  /** epoch ms when the scrape answered */
  t: number;
  recordsIn: number;
  duplicates: number;
  deadLetters: number;
  outputsFinal: number;
  outputsUpdate: number;
  commits: number;
  aborts: number;
  lanes: number;
  cpuSeconds: number;
  heapUsed: number;
  rss: number;
  /** cumulative bytes allocated on the V8 heap */
  allocated: number;
  /** partitions paused by backpressure so far (sluice_backpressure_pauses_total, all workers) */
  pauses: number;
  /** paused partitions resumed so far (sluice_backpressure_resumes_total) */
  resumes: number;
  /** partitions paused now, and bytes in flight now (gauges, summed over the workers) */
  pausedPartitions: number;
  inFlightBytes: number;
  /** the RSS split (/proc/<pid>/smaps), read at most about once a second: absent in between */
  rssLmdb?: number;
  rssOther?: number;
  latency: Histogram;
  /** nodejs_gc_duration_seconds by kind */
  gc: Record<string, Histogram>;
}

export function toSample(t: number, text: string): Sample {
  const s = parsePrometheus(text);
  const gc: Record<string, Histogram> = {};
  for (const kind of labelValues(s, 'nodejs_gc_duration_seconds_bucket', 'kind')) gc[kind] = histogram(s, 'nodejs_gc_duration_seconds', { kind });
  return {
    t,
    recordsIn: total(s, 'sluice_records_in_total'),
    duplicates: total(s, 'sluice_duplicates_total'),
    deadLetters: total(s, 'sluice_dead_letters_total'),
    outputsFinal: total(s, 'sluice_outputs_total', { kind: 'final' }),
    outputsUpdate: total(s, 'sluice_outputs_total', { kind: 'update' }),
    commits: total(s, 'sluice_commits_total'),
    aborts: total(s, 'sluice_aborts_total'),
    lanes: total(s, 'sluice_lanes'),
    cpuSeconds: total(s, 'process_cpu_seconds_total'),
    heapUsed: total(s, 'nodejs_heap_size_used_bytes'),
    rss: total(s, 'process_resident_memory_bytes'),
    allocated: total(s, 'sluice_heap_allocated_bytes'),
    pauses: total(s, 'sluice_backpressure_pauses_total'),
    resumes: total(s, 'sluice_backpressure_resumes_total'),
    pausedPartitions: total(s, 'sluice_paused_partitions'),
    inFlightBytes: total(s, 'sluice_in_flight_bytes'),
    latency: histogram(s, 'sluice_event_latency_seconds'),
    gc,
  };
}

export const ZERO_SAMPLE: Omit<Sample, 't'> = {
  recordsIn: 0,
  duplicates: 0,
  deadLetters: 0,
  outputsFinal: 0,
  outputsUpdate: 0,
  commits: 0,
  aborts: 0,
  lanes: 0,
  cpuSeconds: 0,
  heapUsed: 0,
  rss: 0,
  allocated: 0,
  pauses: 0,
  resumes: 0,
  pausedPartitions: 0,
  inFlightBytes: 0,
  latency: EMPTY_HISTOGRAM,
  gc: {},
};

export class Scraper {
  readonly url: string;
  readonly samples: Sample[] = [];
  private readonly pid: number | undefined;
  private readonly stateDir: string | undefined;
  private splitAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<Sample | undefined> | undefined;
  onSample: (s: Sample) => void = () => undefined;

  /** `stateDir`: sluice's state directory, whose mapped files count as LMDB's in the RSS split */
  constructor(port: number, pid?: number, stateDir?: string) {
    this.url = `http://127.0.0.1:${port}/metrics`;
    this.pid = pid;
    this.stateDir = stateDir;
  }

  /** Reading smaps walks every mapping: once a second is enough, and spares the shared cores. */
  private splitRss(sample: Sample): void {
    if (this.pid === undefined || this.stateDir === undefined || sample.t - this.splitAt < 900) return;
    const split = rssSplit(this.pid, this.stateDir);
    if (split === undefined) return;
    this.splitAt = sample.t;
    sample.rssLmdb = split.lmdb;
    sample.rssOther = split.other;
  }

  private async fetchSample(): Promise<Sample | undefined> {
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) return undefined;
      const sample = toSample(Date.now(), await res.text());
      // With worker threads, every worker's registry reports the process's RSS and CPU as its
      // own, and the summed metrics over-count; /proc has the process's own figures.
      const proc = this.pid === undefined ? undefined : procStats(this.pid);
      if (proc) Object.assign(sample, proc);
      this.splitRss(sample);
      this.samples.push(sample);
      this.onSample(sample);
      return sample;
    } catch {
      return undefined;
    }
  }

  /** One scrape now (after any in flight); undefined while the endpoint is not answering. */
  scrapeNow(): Promise<Sample | undefined> {
    const run = (this.inflight ?? Promise.resolve(undefined)).then(() => this.fetchSample());
    this.inflight = run;
    return run;
  }

  async waitUntilUp(timeoutMs: number, alive: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!alive()) throw new Error('sluice exited before its metrics endpoint answered');
      if (await this.scrapeNow()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`sluice's metrics endpoint ${this.url} did not answer within ${timeoutMs / 1000}s`);
  }

  every(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.scrapeNow(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last sample taken at or before `t` (the first one if none was). */
  at(t: number): Sample | undefined {
    let found: Sample | undefined;
    for (const s of this.samples) {
      if (s.t <= t) found = s;
      else break;
    }
    return found ?? this.samples[0];
  }
}
