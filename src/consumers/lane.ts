// A lane owns one input partition while this process is assigned it: its LMDB store, its
// transactional producer and its stream time. Nothing is shared between lanes, and nothing
// in memory outlives a change of ownership: a lane that fails is closed and a new one opens.
import type { Logger } from '../log.ts';
import type { PipelineMetrics } from '../metrics.ts';
import { BatchProcessor } from '../processors/batch-processor.ts';
import type { InputRecord } from '../processors/batch-processor.ts';
import type { PipelineSpec } from '../processors/types.ts';
import { dedupeForgetAfter } from '../processors/window-math.ts';
import type { LaneSink } from '../sinks/kafka-sink.ts';
import { PartitionStore } from '../state/partition-store.ts';
import type { StoreTimes } from '../state/partition-store.ts';
import { StoreTransaction } from '../state/store-transaction.ts';
import { Checkpoint } from './checkpoint.ts';
import type { ChangelogRestorer } from './changelog-restorer.ts';

export interface LaneTopics {
  input: string;
  output: string;
  deadLetter: string;
  changelog: string;
}

export interface LaneOptions {
  partition: number;
  spec: PipelineSpec;
  topics: LaneTopics;
  guarantee: 'exactly-once' | 'at-least-once';
  storePath: string;
  maxRecords: number;
  maxBytes: number;
  /** the changelog's delete.retention.ms: older local state may have missed tombstones */
  tombstoneRetentionMs: number;
  sink: LaneSink;
  restorer: ChangelogRestorer;
  committedOffset: () => Promise<string | undefined>;
  changelogEnd: () => Promise<string>;
  metrics: PipelineMetrics;
  log: Logger;
}

export type RestoreMode = 'none' | 'replay' | 'full';

export function storeTimes(spec: PipelineSpec): StoreTimes {
  const byName = new Map(spec.windows.map((w) => [w.name, w]));
  return {
    windowCloseAt: (s) => {
      const w = byName.get(s.w);
      // A window the pipeline no longer defines closes at once and is dropped.
      return w === undefined ? Number.NEGATIVE_INFINITY : s.s + w.sizeMs + w.graceMs;
    },
    dedupeForgetAt: (t0) => dedupeForgetAfter(t0, spec),
  };
}

export class Lane {
  readonly partition: number;
  private readonly opts: LaneOptions;
  private readonly times: StoreTimes;
  private readonly processor: BatchProcessor;
  private store: PartitionStore | undefined;
  private checkpoint: Checkpoint | undefined;
  /** next input offset to process; undefined until the partition was ever committed */
  nextOffset: bigint | undefined;
  private streamTime = Number.NEGATIVE_INFINITY;
  private changelogNext: string | undefined;
  restoreMode: RestoreMode = 'none';
  restoredRecords = 0;

  constructor(opts: LaneOptions) {
    this.opts = opts;
    this.partition = opts.partition;
    this.times = storeTimes(opts.spec);
    this.processor = new BatchProcessor(opts.spec, opts.topics, opts.partition);
  }

  /**
   * Opening order matters:
   *   1. init the partition's transactional producer: fences a zombie owner and resolves its open transaction;
   *   2. only then read the committed input offset (now stable) and compare with the local store;
   *   3. bring LMDB up to date from the changelog (replay the gap, or restore whole);
   *   4. the caller then skips input below `nextOffset` and processes the rest.
   */
  async open(heartbeat: () => Promise<void>): Promise<void> {
    const { partition, log, metrics } = this.opts;
    await this.opts.sink.open();
    const committed = await this.opts.committedOffset();
    const store = new PartitionStore(this.opts.storePath, this.times);
    this.store = store;
    const local = store.meta();
    const eos = this.opts.guarantee === 'exactly-once';
    const fresh = local.committedAtMs === undefined || Date.now() - local.committedAtMs < this.opts.tombstoneRetentionMs;

    let mode: RestoreMode = 'none';
    let from: string | undefined;
    if (committed === undefined) {
      // Never committed: whatever is on disk belongs to an earlier life of this application id.
      if (local.inputOffset !== undefined) store.wipe();
    } else if (local.inputOffset === committed) {
      mode = 'none';
    } else if (local.inputOffset !== undefined && local.changelogNext !== undefined && fresh && BigInt(local.inputOffset) < BigInt(committed)) {
      mode = 'replay';
      from = local.changelogNext;
    } else if (!eos && local.inputOffset !== undefined && fresh && BigInt(local.inputOffset) > BigInt(committed)) {
      mode = 'none'; // at-least-once: state ahead of offsets is expected after a crash; dedupe hides the replay
    } else {
      mode = 'full';
      store.wipe();
    }
    if (mode !== 'none' && committed !== undefined) {
      const started = Date.now();
      this.restoredRecords = await this.opts.restorer.restore(store, {
        topic: this.opts.topics.changelog,
        partition,
        fromOffset: from,
        untilInputOffset: eos ? committed : undefined,
        untilChangelogEnd: eos ? undefined : await this.opts.changelogEnd(),
        heartbeat,
      });
      metrics.restoredRecords.inc({ partition, mode }, this.restoredRecords);
      if (eos) store.write((w) => w.setMeta({ inputOffset: committed }));
      log.info(`partition ${partition}: restored (${mode}) ${this.restoredRecords} changelog records in ${Date.now() - started} ms`);
    }
    metrics.restores.inc({ partition, mode });
    this.restoreMode = mode;
    const meta = store.meta();
    this.streamTime = meta.streamTime;
    this.changelogNext = meta.changelogNext;
    this.nextOffset = committed === undefined ? undefined : BigInt(committed);
    this.checkpoint = new Checkpoint(this.opts.sink, this.opts.topics, partition);
    log.info(`partition ${partition}: lane open, restore=${mode}, next offset ${this.nextOffset ?? 'earliest'}, stream time ${Number.isFinite(this.streamTime) ? new Date(this.streamTime).toISOString() : 'none'}, ${store.countDedupe()} ids, ${store.countWindows()} open windows`);
  }

  /** Processes a fetched batch in bounded chunks, one checkpoint each. Returns the last offset handled. */
  async process(messages: readonly InputRecord[], heartbeat: () => Promise<void>): Promise<string | undefined> {
    const store = this.store;
    const checkpoint = this.checkpoint;
    if (store === undefined || checkpoint === undefined) throw new Error(`lane ${this.partition} is not open`);
    const { metrics, maxRecords, maxBytes } = this.opts;
    const partition = this.partition;
    let i = 0;
    // Records below nextOffset were committed by a previous owner after our fetch position was set.
    if (this.nextOffset !== undefined) while (i < messages.length && BigInt(messages[i]!.offset) < this.nextOffset) i++;
    let last = i > 0 ? messages[i - 1]!.offset : undefined;
    while (i < messages.length) {
      let end = i;
      let bytes = 0;
      while (end < messages.length && end - i < maxRecords && (end === i || bytes < maxBytes)) {
        bytes += (messages[end]!.value?.length ?? 0) + (messages[end]!.key?.length ?? 0);
        end++;
      }
      const chunk = messages.slice(i, end);
      const tx = new StoreTransaction(store, this.times);
      const result = this.processor.process(chunk, tx, this.streamTime);
      const lastOffset = chunk[chunk.length - 1]!.offset;
      const nextOffset = (BigInt(lastOffset) + 1n).toString();
      const started = process.hrtime.bigint();
      const changelogNext = await checkpoint.commit({ tx, outputs: result.records, nextOffset, streamTime: result.streamTime, changelogNext: this.changelogNext });
      this.changelogNext = changelogNext;
      this.streamTime = result.streamTime;
      this.nextOffset = BigInt(nextOffset);
      last = lastOffset;
      i = end;

      const s = result.stats;
      metrics.commitSeconds.observe({ partition }, Number(process.hrtime.bigint() - started) / 1e9);
      metrics.commits.inc({ partition });
      metrics.batchRecords.observe({ partition }, s.records);
      metrics.recordsIn.inc({ partition }, s.records);
      if (s.duplicates) metrics.duplicates.inc({ partition }, s.duplicates);
      if (s.late) metrics.late.inc({ partition }, s.late);
      for (const [reason, n] of s.deadLetters) metrics.deadLetters.inc({ partition, reason }, n);
      if (s.finals) metrics.outputs.inc({ partition, kind: 'final' }, s.finals);
      if (s.updates) metrics.outputs.inc({ partition, kind: 'update' }, s.updates);
      if (Number.isFinite(this.streamTime)) metrics.streamTime.set({ partition }, this.streamTime);
      if (i < messages.length) await heartbeat();
    }
    return last;
  }

  summary(): string {
    const s = this.store;
    return `partition ${this.partition}: next offset ${this.nextOffset ?? 'earliest'}, ${s ? s.countDedupe() : 0} ids, ${s ? s.countWindows() : 0} open windows, restore=${this.restoreMode} (${this.restoredRecords} records)`;
  }

  async close(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    this.checkpoint = undefined;
    if (store) {
      this.opts.metrics.stateEntries.set({ partition: this.partition, store: 'dedupe' }, store.countDedupe());
      this.opts.metrics.stateEntries.set({ partition: this.partition, store: 'windows' }, store.countWindows());
    }
    await this.opts.sink.close();
    await store?.close();
  }
}
