// A merge lane's data path for one partition of a cross-partition window's partials topic.
// It keeps the latest partial of every (window, group, start, source) and the watermark of every
// source partition, and writes one final per window and group once the smallest watermark over
// ALL input partitions has passed end + grace. It tolerates any interleaving and redelivery:
// a partial replaces the source's previous one, watermarks only move forward, and a partial for
// a window already written is dropped.
import type { InputRecord, OutRecord } from '../model/records.ts';
import type { MergeStore } from '../model/store-ports.ts';
import type { WindowState } from '../model/window-state.ts';
import { mergeAccumulators } from './aggregates.ts';
import type { BatchResult, BatchStats } from './batch-processor.ts';
import { isLegacyStateOf, legacyWindowKey } from './legacy-keys.ts';
import type { OutputValueEncoder } from '../model/value-format.ts';
import { formatOutput, windowKey } from './output-record.ts';
import { closedMark } from './window-math.ts';
import { WATERMARK_KEY_PREFIX, partialKey } from './partials.ts';
import { expireRetained, retainFinal } from './retained.ts';
import { mergeTraceContexts } from './trace-links.ts';
import type { TracedResult } from './trace-links.ts';
import type { PartialValue } from './partials.ts';
import type { WindowSpec } from './types.ts';

export interface MergeOptions {
  window: WindowSpec;
  outputTopic: string;
  partialsTopic: string;
  /** this lane's partition of the partials topic */
  partition: number;
  /** partition count of the input topic: every one of them must pass a window before it closes */
  sources: number;
  /** the output value encoding; JSON when undefined */
  encodeOutput?: OutputValueEncoder;
  /** the output partition of every final (output.partitioning: input); absent: by key */
  outputPartition?: number | undefined;
  /** how long (wall clock) a merged final is kept for queries (retained.ts); 0 or absent: none */
  queryRetentionMs?: number;
}

export interface SourceWatermark {
  watermark: number;
  /** wall clock when the watermark last moved forward (or when this lane first saw it) */
  movedAtMs: number;
}

export class MergeProcessor {
  private readonly opts: MergeOptions;
  /** latest watermark per source, mirrored in memory for the stuck-watermark metric */
  readonly sources = new Map<number, SourceWatermark>();

  constructor(opts: MergeOptions) {
    this.opts = opts;
  }

  /** Seeds the in-memory view from the store when the lane opens. */
  onOpen(store: { watermarks(): ReadonlyMap<number, number> }): void {
    const committed = store.watermarks();
    const now = Date.now();
    this.sources.clear();
    for (let src = 0; src < this.opts.sources; src++) {
      this.sources.set(src, { watermark: committed.get(src) ?? Number.NEGATIVE_INFINITY, movedAtMs: now });
    }
  }

  minWatermark(): number {
    let min = Number.POSITIVE_INFINITY;
    for (let src = 0; src < this.opts.sources; src++) min = Math.min(min, this.sources.get(src)?.watermark ?? Number.NEGATIVE_INFINITY);
    return min;
  }

  /** `traced`: tracing is on; the result lists its finals with the trace contexts the partials carried. */
  process(records: readonly InputRecord[], store: MergeStore, _streamTime: number, deadline = Number.POSITIVE_INFINITY, traced = false): BatchResult {
    const { window, outputTopic, partialsTopic, partition } = this.opts;
    const out: OutRecord[] = [];
    const stats: BatchStats = { records: 0, duplicates: 0, late: 0, deadLetters: new Map(), finals: 0, updates: 0, partials: 0, forgotten: 0, dropped: 0 };
    const closeAfter = window.sizeMs + window.graceMs;
    let consumed = records.length;
    // Only moves forward within the batch too, so a partial is checked against what is known so far.
    let min = this.minWatermark();
    const now = Date.now();
    const mark = closedMark(window);
    const closedThrough = store.closedThrough(mark);
    const traces: TracedResult[] | undefined = traced ? [] : undefined;

    for (let i = 0; i < records.length; i++) {
      if ((i & 63) === 63 && performance.now() >= deadline) {
        consumed = i;
        break;
      }
      const rec = records[i]!;
      if (rec.value === null || rec.key === null) continue; // our own tombstones of merged partials
      const key = rec.key.toString();
      if (key.startsWith(WATERMARK_KEY_PREFIX)) {
        const src = Number(key.slice(WATERMARK_KEY_PREFIX.length));
        const wm = (JSON.parse(rec.value.toString()) as { wm: number }).wm;
        const known = this.sources.get(src);
        if (known === undefined || wm > known.watermark) {
          this.sources.set(src, { watermark: wm, movedAtMs: now });
          store.setWatermark(src, wm);
          min = this.minWatermark();
        }
        continue;
      }
      const p = JSON.parse(rec.value.toString()) as PartialValue;
      if (p.w !== window.name) continue;
      stats.partials++;
      if (p.s + closeAfter <= min || p.s <= closedThrough) {
        stats.dropped++; // a redelivered partial of a window already written
        continue;
      }
      // Keyed from the value, not the record key: a partial sent before an upgrade has a legacy
      // record key, which the tombstone lets compaction drop.
      const storeKey = partialKey(p.w, p.g, p.s, p.src);
      if (key !== storeKey) out.push({ topic: partialsTopic, partition, key, value: null });
      const created = store.getWindow(storeKey) === undefined;
      if (created) this.dropLegacyPartial(p, key, store, out);
      const partial: WindowState = { w: p.w, g: p.g, s: p.s, a: p.a };
      // Untraced, contexts a traced source sent are not kept: the merge state is as without tracing.
      if (traced && p.t !== undefined) partial.t = p.t;
      store.putWindow(storeKey, partial, created);
    }

    // Gathers every source's partial of a window, by the window's key: a partial kept under a
    // legacy store key belongs with the others all the same.
    const byWindow = new Map<string, { storeKeys: string[]; merged: WindowState | undefined }>();
    for (const storeKey of store.windowsClosingBy(min)) {
      const state = store.getWindow(storeKey);
      const wk = state === undefined ? storeKey : windowKey(state.w, state.g, state.s);
      let entry = byWindow.get(wk);
      if (entry === undefined) byWindow.set(wk, (entry = { storeKeys: [], merged: undefined }));
      entry.storeKeys.push(storeKey);
      if (state === undefined) continue;
      if (entry.merged === undefined) entry.merged = { ...state, a: [...state.a] };
      else {
        entry.merged = { ...entry.merged, a: mergeAccumulators(entry.merged.a, state.a, window.aggregates) };
        if (traced) entry.merged.t = mergeTraceContexts(entry.merged.t, state.t);
      }
    }
    for (const [wk, { storeKeys, merged }] of byWindow) {
      for (const storeKey of storeKeys) {
        store.deleteWindow(storeKey);
        // Lets compaction drop the merged partial; this lane skips its own tombstones.
        out.push({ topic: partialsTopic, partition, key: storeKey, value: null });
      }
      if (merged === undefined) continue;
      store.markClosed(mark, merged.s);
      const { key, value } = formatOutput(window, merged.g, merged.s, merged.a, true, wk, this.opts.encodeOutput);
      const record: OutRecord = { topic: outputTopic, partition: this.opts.outputPartition, key, value };
      out.push(record);
      traces?.push({ record, links: merged.t, final: true });
      stats.finals++;
      // Under the window's key, as a source lane retains a window it closes itself.
      const retentionMs = this.opts.queryRetentionMs ?? 0;
      if (retentionMs > 0) retainFinal(store, wk, merged, now + retentionMs);
    }
    expireRetained(store, now);
    stats.records = consumed;
    return traces === undefined ? { consumed, records: out, streamTime: min, stats } : { consumed, records: out, streamTime: min, stats, traced: traces };
  }

  /**
   * A source's partial is whole, so its new one replaces any this lane stored before an upgrade
   * under a legacy key (see legacy-keys.ts). The tombstone lets compaction drop that old record.
   */
  private dropLegacyPartial(p: PartialValue, recordKey: string, store: MergeStore, out: OutRecord[]): void {
    const legacyKey = legacyWindowKey(p.w, p.g, p.s) + '|' + p.src;
    const legacy = store.getWindow(legacyKey);
    if (legacy === undefined || !isLegacyStateOf(legacy, p.w, p.g, p.s)) return;
    store.deleteWindow(legacyKey);
    if (legacyKey !== recordKey) out.push({ topic: this.opts.partialsTopic, partition: this.opts.partition, key: legacyKey, value: null });
  }
}
