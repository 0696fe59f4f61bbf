// One prom-client registry per running pipeline (not the global one), so in-process tests and
// several pipelines in one process never mix their counts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AllocationMeter } from './alloc-meter.ts';
import { stateMetrics } from './state-metrics.ts';

// One per process: the heap is the process's, whatever number of pipelines run in it.
let allocationMeter: AllocationMeter | undefined;

export type PipelineMetrics = ReturnType<typeof createMetrics>;

/** GC pauses are mostly well under 10 ms: prom-client's default buckets (1 ms, 10 ms, 100 ms...) cannot tell 2 ms from 9 ms. */
export const GC_DURATION_BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2];

/**
 * Default metrics that describe the whole process, not the thread: on worker threads
 * (entry/workers.ts) each worker reports the same process, so the main thread's sum must take one
 * of them rather than add them up (RSS and CPU would read N times too high), and the start time
 * must not be left out.
 */
function aggregateProcessMetricsOnce(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    if (metric.name.startsWith('process_')) (metric as unknown as { aggregator: string }).aggregator = 'max';
  }
}

/** A merge lane's view of its sources' watermarks, read when metrics are scraped. */
export type WatermarkProvider = () => Iterable<{ window: string; source: number; watermark: number; movedAtMs: number }>;

export function createMetrics(labels: { application: string }) {
  const registry = new Registry();
  const meter = (allocationMeter ??= new AllocationMeter());
  const watermarkProviders = new Set<WatermarkProvider>();
  // Several merge lanes of one window may see a source; report the most pessimistic view.
  const watermarkViews = () => {
    const views = new Map<string, { window: string; source: string; watermark: number; idleSeconds: number }>();
    const now = Date.now();
    for (const provider of watermarkProviders) {
      for (const v of provider()) {
        const id = `${v.window}/${v.source}`;
        const idleSeconds = (now - v.movedAtMs) / 1000;
        const seen = views.get(id);
        if (seen === undefined) views.set(id, { window: v.window, source: String(v.source), watermark: v.watermark, idleSeconds });
        else {
          seen.watermark = Math.min(seen.watermark, v.watermark);
          seen.idleSeconds = Math.max(seen.idleSeconds, idleSeconds);
        }
      }
    }
    return views.values();
  };
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, gcDurationBuckets: GC_DURATION_BUCKETS });
  aggregateProcessMetricsOnce(registry);
  const p = ['partition'] as const;
  return {
    registry,
    recordsIn: new Counter({ name: 'sluice_records_in_total', help: 'Input records processed (committed)', labelNames: p, registers: [registry] }),
    duplicates: new Counter({ name: 'sluice_duplicates_total', help: 'Input records dropped as duplicates', labelNames: p, registers: [registry] }),
    deadLetters: new Counter({ name: 'sluice_dead_letters_total', help: 'Input records sent to the dead-letter topic, by reason', labelNames: ['partition', 'reason'], registers: [registry] }),
    enrichMisses: new Counter({ name: 'sluice_enrich_misses_total', help: 'Enrichment lookups that found no row, by table and by what the lookup does then (keep, drop, dead-letter)', labelNames: ['partition', 'table', 'missing'], registers: [registry] }),
    tableRecords: new Counter({ name: 'sluice_table_records_total', help: 'Reference-table records applied to LMDB (rows put or deleted, or skipped as unusable), by table', labelNames: ['table'], registers: [registry] }),
    tableSkipped: new Counter({ name: 'sluice_table_skipped_records_total', help: 'Reference-table records skipped because they were not JSON objects or had no usable key, by table', labelNames: ['table'], registers: [registry] }),
    late: new Counter({ name: 'sluice_late_total', help: 'Input records dead-lettered because all their windows had closed', labelNames: p, registers: [registry] }),
    outputs: new Counter({ name: 'sluice_outputs_total', help: 'Aggregate records written, by kind', labelNames: ['partition', 'kind'], registers: [registry] }),
    restoredRecords: new Counter({ name: 'sluice_restored_records_total', help: 'Changelog records applied to local state, by restore mode', labelNames: ['partition', 'mode'], registers: [registry] }),
    restoreRemaining: new Gauge({
      name: 'sluice_restore_remaining_records',
      help: 'Changelog records a lane still has to restore before it processes input (offsets up to the changelog end, so an upper bound on a compacted changelog); 0 once open',
      labelNames: p,
      registers: [registry],
    }),
    windowsClosed: new Counter({
      name: 'sluice_windows_closed_total',
      help: 'Windows closed, by reason: stream-time (stream time passed the window end plus grace), idle (closeIdleAfter), watermark (a cross-partition window: every source passed it), dropped (its window is no longer configured; no output)',
      labelNames: ['partition', 'reason'],
      registers: [registry],
    }),
    restores: new Counter({ name: 'sluice_restores_total', help: 'Lane openings, by restore mode (none, replay, full)', labelNames: ['partition', 'mode'], registers: [registry] }),
    commits: new Counter({ name: 'sluice_commits_total', help: 'Committed batches (Kafka transaction plus local state)', labelNames: p, registers: [registry] }),
    aborts: new Counter({ name: 'sluice_aborts_total', help: 'Batches aborted and retried, by error code', labelNames: ['partition', 'code'], registers: [registry] }),
    commitSeconds: new Histogram({ name: 'sluice_commit_seconds', help: 'Time to commit one batch', labelNames: p, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    eventLatency: new Histogram({
      name: 'sluice_event_latency_seconds',
      help: 'Per input record: from its Kafka timestamp (append time on LogAppendTime topics) to the commit that made its effect visible',
      // 5 ms steps to 100 ms, so a p99 near the 50 ms target is resolved to 5 ms; coarser above.
      buckets: [
        0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.055, 0.06, 0.065, 0.07, 0.075, 0.08, 0.085, 0.09, 0.095, 0.1,
        0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120,
      ],
      registers: [registry],
    }),
    batchRecords: new Histogram({ name: 'sluice_batch_records', help: 'Input records per committed batch', labelNames: p, buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000], registers: [registry] }),
    lag: new Gauge({
      name: 'sluice_lag_records',
      help: "Records of the lane's partition on the broker after its last committed chunk, as of that chunk's fetch (a transactional producer's commit marker counts too, so a caught-up partition may read 1)",
      labelNames: p,
      registers: [registry],
    }),
    streamTime: new Gauge({ name: 'sluice_stream_time_ms', help: 'Stream time (largest event time seen) per partition', labelNames: p, registers: [registry] }),
    ...stateMetrics(registry),
    lanes: new Gauge({ name: 'sluice_lanes', help: 'Open partition lanes in this process', registers: [registry] }),
    inFlightBytes: new Gauge({ name: 'sluice_in_flight_bytes', help: 'Fetched input not yet committed plus output not yet acknowledged', registers: [registry] }),
    partitionPaused: new Gauge({ name: 'sluice_partition_paused', help: "1 while a lane's intake is paused by backpressure, 0 while it fetches", labelNames: p, registers: [registry] }),
    pausedPartitions: new Gauge({ name: 'sluice_paused_partitions', help: 'Partitions whose intake is paused by backpressure', registers: [registry] }),
    pauses: new Counter({ name: 'sluice_backpressure_pauses_total', help: 'Times a partition was paused because in-flight bytes passed backpressure.maxInFlightBytes', registers: [registry] }),
    resumes: new Counter({ name: 'sluice_backpressure_resumes_total', help: 'Times a paused partition was resumed once in-flight bytes fell to backpressure.resumeBelowBytes', registers: [registry] }),
    batchMode: new Counter({ name: 'sluice_batches_total', help: 'Transactions by batching mode: latency (caught up), catch-up (behind), or idle (an idle close, closeIdleAfter)', labelNames: ['mode'], registers: [registry] }),
    heapAllocated: new Gauge({
      name: 'sluice_heap_allocated_bytes',
      help: 'Bytes allocated on the V8 heap since the process started (estimated from GC heap sizes); divide its rate by the record rate for allocation per event',
      registers: [registry],
      collect() {
        this.set(meter.allocatedBytes());
      },
    }),
    watermarkProviders,
    watermark: new Gauge({
      name: 'sluice_watermark_ms',
      help: 'Cross-partition windows: each source partition\'s watermark as its merge lanes see it (-Inf: never heard from)',
      labelNames: ['window', 'source_partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const v of watermarkViews()) this.set({ window: v.window, source_partition: v.source }, v.watermark);
      },
    }),
    watermarkIdle: new Gauge({
      name: 'sluice_watermark_idle_seconds',
      help: 'Cross-partition windows: seconds since a source partition\'s watermark last moved; a large value holds the merged windows',
      labelNames: ['window', 'source_partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const v of watermarkViews()) this.set({ window: v.window, source_partition: v.source }, v.idleSeconds);
      },
    }),
  };
}

/** Sum of a counter over all label sets, optionally filtered: what tests and summaries read. */
export async function counterTotal(counter: Counter, filter: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  let n = 0;
  for (const v of values) {
    if (Object.entries(filter).every(([k, want]) => String(v.labels[k]) === want)) n += v.value;
  }
  return n;
}
