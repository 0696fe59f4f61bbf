// What a lane reports, kept out of its data path: the lane hands one summary per committed chunk
// (and per restore and close) to its observer, which turns it into metrics and tracing events.
// The summary is the chunk's one allocation; nothing here allocates per record.
import type { PipelineMetrics } from './metrics.ts';
import { publishCommit, publishRestore } from './tracing.ts';

/** What the processor counted in a chunk (structurally its BatchStats). */
export interface ChunkStats {
  records: number;
  duplicates: number;
  late: number;
  deadLetters: ReadonlyMap<string, number>;
  finals: number;
  updates: number;
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
}

export interface RestoredLane {
  lane: string;
  mode: 'none' | 'replay' | 'full';
  records: number;
  durationMs: number;
}

export interface LaneObserver {
  committed(chunk: CommittedChunk): void;
  restored(restore: RestoredLane): void;
  closed(entries: { dedupe: number; windows: number }): void;
}

/**
 * Metrics (labelled `partition` by `label`: the partition number of a source lane, the window
 * and partition of a merge lane) and diagnostics-channel events. Input counts and event latency
 * are a source lane's only: a merge lane's input is partials, not events.
 */
export function metricsObserver(metrics: PipelineMetrics, label: string, kind: 'source' | 'merge'): LaneObserver {
  const partition = label;
  const labels = { partition };
  return {
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
      if (s.finals) metrics.outputs.inc({ partition, kind: 'final' }, s.finals);
      if (s.updates) metrics.outputs.inc({ partition, kind: 'update' }, s.updates);
      if (Number.isFinite(c.streamTime)) metrics.streamTime.set(labels, c.streamTime);
    },
    restored(r) {
      const mode = r.mode;
      if (mode !== 'none') {
        metrics.restoredRecords.inc({ partition, mode }, r.records);
        publishRestore({ lane: r.lane, mode, records: r.records, durationMs: r.durationMs });
      }
      metrics.restores.inc({ partition, mode });
    },
    closed(entries) {
      metrics.stateEntries.set({ partition, store: 'dedupe' }, entries.dedupe);
      metrics.stateEntries.set({ partition, store: 'windows' }, entries.windows);
    },
  };
}
