// What sluice's three Grafana dashboards show: an overview for the on-call glance, a partitions
// view for finding the one partition that is behind, and a state view for restores and LMDB.
// `node scripts/gen-dashboards.ts` writes them to grafana/; test/integration/grafana-dashboards
// runs every query against a real Prometheus scraping a running sluice.
//
// Counters that only move when something goes wrong (aborts, restores) end in `or vector(0)`, so
// their panels draw 0 rather than "No data" on a healthy pipeline.
import { SEL, SEL_P, dashboardJson } from './panels.ts';
import type { DashboardSpec, PanelSpec, RowSpec } from './panels.ts';

const R = '[$__rate_interval]';
const rate = (metric: string, by: string, sel = SEL_P) => `sum by (${by}) (rate(${metric}{${sel}}${R}))`;
const quantile = (q: number, metric: string, by: string, sel = SEL) => `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket{${sel}}${R})))`;

const LINKS = [
  { title: 'sluice overview', uid: 'sluice-overview' },
  { title: 'sluice partitions', uid: 'sluice-partitions' },
  { title: 'sluice state', uid: 'sluice-state' },
];

const ts = (title: string, unit: string, description: string, targets: PanelSpec['targets'], more: Partial<PanelSpec> = {}): PanelSpec => ({ kind: 'timeseries', title, unit, description, targets, ...more });
const stat = (title: string, unit: string, description: string, expr: string, redAbove?: number): PanelSpec => ({ kind: 'stat', title, unit, description, targets: [{ expr }], ...(redAbove === undefined ? {} : { redAbove }) });

const overviewRows: RowSpec[] = [
  {
    row: 'At a glance',
    panels: [
      stat('Records in /s', 'rps', 'Committed input records per second (sluice_records_in_total).', `sum(rate(sluice_records_in_total{${SEL_P}}${R}))`),
      stat('Event latency p99', 's', 'From an input record\'s Kafka timestamp to the commit that made its effect visible; the target is 50 ms.', quantile(0.99, 'sluice_event_latency_seconds', 'application'), 0.05),
      stat('Lag (records)', 'short', 'Records on the broker not yet processed, summed over partitions (sluice_lag_records).', `sum(sluice_lag_records{${SEL_P}})`),
      stat('Dead letters /s', 'rps', 'Records sent to the dead-letter topic per second, all reasons.', `sum(rate(sluice_dead_letters_total{${SEL_P}}${R})) or vector(0)`),
    ],
  },
  {
    row: 'Throughput and latency',
    panels: [
      ts('Throughput', 'rps', 'Input records committed and aggregate records written per second.', [
        { expr: rate('sluice_records_in_total', 'application'), legend: '{{application}} in' },
        { expr: rate('sluice_outputs_total', 'application'), legend: '{{application}} out' },
      ]),
      ts('Event latency p50 / p99', 's', 'Append-to-commit latency (sluice_event_latency_seconds). p99 above batching.targetLatencyMs with catch-up transactions: the lanes are behind.', [
        { expr: quantile(0.5, 'sluice_event_latency_seconds', 'application'), legend: '{{application}} p50' },
        { expr: quantile(0.99, 'sluice_event_latency_seconds', 'application'), legend: '{{application}} p99' },
      ]),
      ts('Lag (records)', 'short', 'Records on the broker after the last committed chunk, per application. Growing: sluice does not keep up (see the partitions view for which partition).', [{ expr: `sum by (application) (sluice_lag_records{${SEL_P}})`, legend: '{{application}}' }]),
      ts('Dead letters by reason /s', 'rps', 'Records sent to deadLetter.topic, by reason (docs/dead-letters.md). Any steady reason other than late: a producer sends data that does not match the config.', [
        { expr: `${rate('sluice_dead_letters_total', 'application, reason')} or vector(0)`, legend: '{{application}} {{reason}}' },
      ]),
    ],
  },
  {
    row: 'Process',
    panels: [
      ts('GC pauses p99 / max', 's', 'Garbage-collection pauses (nodejs_gc_duration_seconds, buckets from 0.5 ms). Pauses near 50 ms eat the latency budget; above ~100 ms they also delay heartbeats.', [
        { expr: quantile(0.99, 'nodejs_gc_duration_seconds', 'application, instance'), legend: '{{instance}} p99' },
        { expr: quantile(1, 'nodejs_gc_duration_seconds', 'application, instance'), legend: '{{instance}} max' },
      ], { width: 8 }),
      ts('GC time share', 'percentunit', 'Share of wall time spent in GC pauses per instance (summed over worker threads).', [{ expr: `sum by (application, instance) (rate(nodejs_gc_duration_seconds_sum{${SEL}}${R}))`, legend: '{{instance}}' }], { width: 8 }),
      ts('Event-loop lag p99', 's', 'How late the event loop runs timers and I/O. Above ~100 ms the instance is overloaded or blocked.', [{ expr: `max by (application, instance) (nodejs_eventloop_lag_p99_seconds{${SEL}})`, legend: '{{instance}}' }], { width: 8 }),
      ts('Heap used vs RSS', 'bytes', 'V8 heap (summed over worker threads) against resident memory. LMDB is memory-mapped, so RSS well above the heap is normal.', [
        { expr: `sum by (application, instance) (nodejs_heap_size_used_bytes{${SEL}})`, legend: '{{instance}} heap used' },
        { expr: `max by (application, instance) (process_resident_memory_bytes{${SEL}})`, legend: '{{instance}} RSS' },
      ], { width: 8 }),
      ts('CPU', 'short', 'CPU cores used per instance.', [{ expr: `max by (application, instance) (rate(process_cpu_seconds_total{${SEL}}${R}))`, legend: '{{instance}}' }], { width: 8 }),
      ts('Lanes per instance', 'short', 'Partitions (and merge lanes) each instance owns. Flapping: repeated rebalances.', [{ expr: `sum by (application, instance) (sluice_lanes{${SEL}})`, legend: '{{instance}}' }], { width: 8 }),
    ],
  },
];

const partitionRows: RowSpec[] = [
  {
    row: 'Progress',
    panels: [
      ts('Records in by partition /s', 'rps', 'Committed input per partition. One flat at 0 while the others move: stalled, or its upstream stopped.', [{ expr: rate('sluice_records_in_total', 'application, partition'), legend: '{{application}} p{{partition}}' }]),
      ts('Lag by partition (records)', 'short', 'Records left on the broker per lane. A transactional producer\'s commit marker counts, so a caught-up partition may read 1.', [{ expr: `sum by (application, partition) (sluice_lag_records{${SEL_P}})`, legend: '{{application}} p{{partition}}' }]),
      ts('Stream-time lag by partition', 'ms', 'Wall clock minus stream time (the largest event time seen). A quiet partition also stops closing its windows.', [{ expr: `time() * 1000 - max by (application, partition) (sluice_stream_time_ms{${SEL_P}})`, legend: '{{application}} p{{partition}}' }]),
      ts('Commit latency p99 by partition', 's', 'Time to commit one batch (Kafka transaction and LMDB). One partition slower than the others: its leader broker or its disk.', [{ expr: quantile(0.99, 'sluice_commit_seconds', 'application, partition', SEL_P), legend: '{{application}} p{{partition}}' }]),
      ts('Commits by partition /s', 'ops', 'Committed batches per partition.', [{ expr: rate('sluice_commits_total', 'application, partition'), legend: '{{application}} p{{partition}}' }]),
      ts('Batch size p99 by partition', 'short', 'Input records per committed batch. Pinned at batching.maxRecords: the lane is saturated.', [{ expr: quantile(0.99, 'sluice_batch_records', 'application, partition', SEL_P), legend: '{{application}} p{{partition}}' }]),
    ],
  },
  {
    row: 'Correctness',
    panels: [
      ts('Duplicates dropped by partition /s', 'rps', 'Records dropped by dedupe.', [{ expr: rate('sluice_duplicates_total', 'application, partition'), legend: '{{application}} p{{partition}}' }], { width: 8 }),
      ts('Late records by partition /s', 'rps', 'Records whose every window had closed; dead-lettered with reason late.', [{ expr: `${rate('sluice_late_total', 'application, partition')} or vector(0)`, legend: '{{application}} p{{partition}}' }], { width: 8 }),
      ts('Dead letters by partition /s', 'rps', 'Records sent to the dead-letter topic, per partition.', [{ expr: `${rate('sluice_dead_letters_total', 'application, partition')} or vector(0)`, legend: '{{application}} p{{partition}}' }], { width: 8 }),
      ts('Aborts by lane and code', 'short', 'Batches aborted and retried (docs/errors.md). A few SLUICE_TASK_MIGRATED around rebalances are normal; a steady rate is not.', [{ expr: `sum by (application, partition, code) (increase(sluice_aborts_total{${SEL}}${R})) or vector(0)`, legend: '{{application}} {{partition}} {{code}}' }]),
      ts('Windows closed by reason /s', 'ops', 'stream-time, idle (closeIdleAfter), watermark (cross-partition merge) or dropped (window no longer configured).', [{ expr: rate('sluice_windows_closed_total', 'application, reason'), legend: '{{application}} {{reason}}' }], { stacked: true }),
    ],
  },
  {
    row: 'Backpressure and watermarks',
    panels: [
      ts('Paused partitions', 'short', 'Lanes whose intake backpressure paused (1) per partition. Paused for long: the brokers are slow to acknowledge output.', [{ expr: `max by (application, partition) (sluice_partition_paused{${SEL_P}})`, legend: '{{application}} p{{partition}}' }], { stacked: true, width: 8 }),
      ts('In-flight bytes', 'bytes', 'Fetched input not yet committed plus output not yet acknowledged, per instance.', [{ expr: `sum by (application, instance) (sluice_in_flight_bytes{${SEL}})`, legend: '{{instance}}' }], { width: 8 }),
      ts('Transactions by batching mode /s', 'ops', 'latency: caught up; catch-up: behind; idle: an idle close.', [{ expr: rate('sluice_batches_total', 'application, mode', SEL), legend: '{{application}} {{mode}}' }], { width: 8 }),
      ts('Cross-partition watermark idle', 's', 'Seconds since each source partition\'s watermark last moved, as the merge lanes see it; a large value holds back the merged windows.', [{ expr: `max by (application, window, source_partition) (sluice_watermark_idle_seconds{${SEL}})`, legend: '{{application}} {{window}} source {{source_partition}}' }], { width: 24 }),
    ],
  },
];

const stateRows: RowSpec[] = [
  {
    row: 'Restore',
    panels: [
      ts('Restore remaining by partition', 'short', 'Changelog records a lane still has to apply before it processes input (0 once open). A long restore delays that partition.', [{ expr: `max by (application, partition) (sluice_restore_remaining_records{${SEL_P}})`, legend: '{{application}} p{{partition}}' }]),
      ts('Restores by mode', 'short', 'Lane openings: none (state current), replay (changelog tail), full (whole changelog). full after an ordinary restart: local state is not kept (persistence).', [{ expr: `sum by (application, mode) (increase(sluice_restores_total{${SEL_P}}${R}))`, legend: '{{application}} {{mode}}' }], { stacked: true }),
      ts('Changelog records restored /s', 'rps', 'How fast lanes read their changelog while opening.', [{ expr: `${rate('sluice_restored_records_total', 'application, mode')} or vector(0)`, legend: '{{application}} {{mode}}' }], { width: 24 }),
    ],
  },
  {
    row: 'LMDB',
    panels: [
      ts('State file size by partition', 'bytes', 'Bytes in use in each lane\'s LMDB file (its high-water mark): size the state volume (persistence.size) from the sum per instance.', [{ expr: `sum by (application, partition) (sluice_state_file_bytes{${SEL_P}})`, legend: '{{application}} p{{partition}}' }], { stacked: true }),
      ts('State bytes by store', 'bytes', 'LMDB pages each store holds, summed over partitions: dedupe ids, window aggregates and their indexes.', [{ expr: `sum by (application, store) (sluice_state_bytes{${SEL_P}})`, legend: '{{application}} {{store}}' }], { stacked: true }),
      ts('State entries by store', 'short', 'Should plateau: dedupe ≈ id rate × dedupe.ttl, windows ≈ active keys × open windows. Unbounded growth: stream time is stuck or key cardinality exploded.', [{ expr: `sum by (application, store) (sluice_state_entries{${SEL_P}})`, legend: '{{application}} {{store}}' }]),
      ts('Open windows by partition', 'short', 'Window aggregates open in each source lane.', [{ expr: `sum by (application, partition) (sluice_open_windows{${SEL_P}})`, legend: '{{application}} p{{partition}}' }]),
    ],
  },
];

export const DASHBOARDS: readonly { file: string; spec: DashboardSpec }[] = [
  {
    file: 'grafana/sluice-overview.json',
    spec: { uid: 'sluice-overview', title: 'sluice overview', description: 'sluice: throughput, p99 latency, lag, dead letters and GC pauses.', rows: overviewRows, partitionVariable: true, links: LINKS.filter((l) => l.uid !== 'sluice-overview') },
  },
  {
    file: 'grafana/sluice-partitions.json',
    spec: { uid: 'sluice-partitions', title: 'sluice partitions', description: 'sluice per partition: progress, lag, latency, correctness, backpressure.', rows: partitionRows, partitionVariable: true, links: LINKS.filter((l) => l.uid !== 'sluice-partitions') },
  },
  {
    file: 'grafana/sluice-state.json',
    spec: { uid: 'sluice-state', title: 'sluice state', description: 'sluice local state: restore progress, LMDB size and entries.', rows: stateRows, partitionVariable: true, links: LINKS.filter((l) => l.uid !== 'sluice-state') },
  },
];

export function dashboardFiles(): { path: string; content: string }[] {
  return DASHBOARDS.map((d) => ({ path: d.file, content: `${JSON.stringify(dashboardJson(d.spec), null, 2)}\n` }));
}
