// What a lane reports, kept out of its data path: the lane hands one summary per committed chunk
// (and per restore and close) to its observer, which turns it into metrics and tracing events.
// The summary is the chunk's one allocation; nothing here allocates per record.
import type { PipelineMetrics } from './metrics.ts';
import type { LaneStateView } from './state-metrics.ts';
import { publishCommit, publishRestore } from './tracing.ts';

/** What the processor counted in a chunk (structurally its BatchStats). */
export interface ChunkStats {
  records: number;
  duplicates: number;
  late: number;
  deadLetters: ReadonlyMap<string, number>;
  finals: number;
  updates: number;
  /** windows closed without output: their window is no longer configured (a source lane's only) */
  dropped: number;
  /** enrichment lookups without a row, by `table|missing` */
  enrichMisses?: ReadonlyMap<string, number>;
}

/** One committed chunk: a Kafka transaction plus its local commit. */
export interface CommittedChunk {
  /** how logs and tracing name the lane */
  lane: string;
  /** the batching mode that sized the chunk */
  mode: string;
  /** input records consumed */
  records: number;
  outputs: number;
  nextOffset: string;
  commitSeconds: number;
  /** the lane's stream time after the chunk */
  streamTime: number;
  stats: ChunkStats;
  /** the chunk is input[first, end): per-record latency reads their timestamps */
  input: readonly { timestamp: string }[];
  first: number;
  end: number;
  /** records on the broker after the chunk (the rest of the fetched batch and the partition's lag beyond it); absent for an idle close */
  lag?: number;
}

export interface RestoredLane {
  lane: string;
  mode: 'none' | 'replay' | 'full';
  records: number;
  durationMs: number;
}

export interface LaneObserver {
  /** during a restore, after each applied changelog batch: records left to the end */
  restoring(remaining: number): void;
  restored(restore: RestoredLane): void;
  /** the lane is open: its state can be read at scrape time until it closes */
  opened(state: LaneStateView): void;
  committed(chunk: CommittedChunk): void;
  /** backpressure paused (true) or resumed (false) the lane's intake */
  paused(paused: boolean): void;
  closed(): void;
}

/**
 * Metrics (labelled `partition` by `label`: the partition number of a source lane, the window
 * and partition of a merge lane) and diagnostics-channel events. Input counts and event latency
 * are a source lane's only: a merge lane's input is partials, not events.
 */
export function metricsObserver(metrics: PipelineMetrics, label: string, kind: 'source' | 'merge'): LaneObserver {
  const partition = label;
  const labels = { partition };
  let view: LaneStateView | undefined;
  return {
    restoring(remaining) {
      metrics.restoreRemaining.set(labels, remaining);
    },
    opened(state) {
      view = state;
      metrics.stateViews.set(partition, state);
      metrics.partitionPaused.set(labels, 0);
    },
    paused(paused) {
      metrics.partitionPaused.set(labels, paused ? 1 : 0);
    },
    committed(c) {
      const s = c.stats;
      metrics.batchMode.inc({ mode: c.mode });
      metrics.commitSeconds.observe(labels, c.commitSeconds);
      publishCommit({ lane: c.lane, records: c.records, outputs: c.outputs, nextOffset: c.nextOffset, durationMs: c.commitSeconds * 1000 });
      metrics.commits.inc(labels);
      // An idle close (mode `idle`) has no input: it is no batch size.
      if (kind === 'source' && c.mode !== 'idle') {
        metrics.batchRecords.observe(labels, s.records);
        metrics.recordsIn.inc(labels, s.records);
        const committedAt = Date.now();
        for (let r = c.first; r < c.end; r++) metrics.eventLatency.observe((committedAt - Number(c.input[r]!.timestamp)) / 1000);
      }
      if (s.duplicates) metrics.duplicates.inc(labels, s.duplicates);
      if (s.late) metrics.late.inc(labels, s.late);
      for (const [reason, n] of s.deadLetters) metrics.deadLetters.inc({ partition, reason }, n);
      if (s.enrichMisses !== undefined) {
        for (const [label, n] of s.enrichMisses) {
          const bar = label.lastIndexOf('|');
          metrics.enrichMisses.inc({ partition, table: label.slice(0, bar), missing: label.slice(bar + 1) }, n);
        }
      }
      if (s.finals) {
        metrics.outputs.inc({ partition, kind: 'final' }, s.finals);
        metrics.windowsClosed.inc({ partition, reason: kind === 'merge' ? 'watermark' : c.mode === 'idle' ? 'idle' : 'stream-time' }, s.finals);
      }
      // A merge lane's `dropped` are redelivered partials, not windows.
      if (kind === 'source' && s.dropped) metrics.windowsClosed.inc({ partition, reason: 'dropped' }, s.dropped);
      if (s.updates) metrics.outputs.inc({ partition, kind: 'update' }, s.updates);
      if (Number.isFinite(c.streamTime)) metrics.streamTime.set(labels, c.streamTime);
      if (c.lag !== undefined) metrics.lag.set(labels, c.lag);
    },
    restored(r) {
      const mode = r.mode;
      if (mode !== 'none') {
        metrics.restoredRecords.inc({ partition, mode }, r.records);
        publishRestore({ lane: r.lane, mode, records: r.records, durationMs: r.durationMs });
      }
      metrics.restores.inc({ partition, mode });
      metrics.restoreRemaining.set(labels, 0);
    },
    closed() {
      // A lane's gauges go with it: the partition's next owner, here or elsewhere, reports it.
      // Only this lane's view: the partition's next lane here opens after this one closed its
      // store, but a view it registered must never be taken down by an older lane.
      if (metrics.stateViews.get(partition) === view) metrics.stateViews.delete(partition);
      metrics.restoreRemaining.remove(labels);
      metrics.partitionPaused.remove(labels);
      metrics.streamTime.remove(labels);
      metrics.lag.remove(labels);
    },
  };
}
