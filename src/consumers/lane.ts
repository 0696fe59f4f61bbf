// A lane owns one input partition while this process is assigned it: its LMDB store, its
// transactional producer and its stream time. Nothing is shared between lanes, and nothing
// in memory outlives a change of ownership: a lane that fails is closed and a new one opens.
import { TaskCorruptedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { CommittedChunk, LaneObserver } from '../observability/lane-observer.ts';
import { activeTracer } from '../observability/tracing-sdk.ts';
import { BatchTrace, traceRestore } from '../observability/tracing-spans.ts';
import type { TracedLane } from '../observability/tracing-spans.ts';
import { firstTraceContexts } from '../processors/trace-links.ts';
import type { InputRecord } from '../model/records.ts';
import type { BatchResult } from '../processors/batch-processor.ts';
import type { PipelineSpec } from '../processors/types.ts';
import { shortestCloseIdleAfter } from '../processors/idle-close.ts';
import { dedupeForgetAfter } from '../processors/window-math.ts';
import type { LaneSink } from '../clients/port.ts';
import { ChangeloggedStore } from '../state/changelogged-store.ts';
import type { RestoreMode } from '../state/changelogged-store.ts';
import type { PartitionStore, StoreTimes } from '../state/partition-store.ts';
import { StoreTransaction } from '../state/store-transaction.ts';
import { BatchController } from './batch-controller.ts';
import type { BatchingBounds } from './batch-controller.ts';
import { Checkpoint } from './checkpoint.ts';
import type { OpenLanes } from './open-lanes.ts';
import { chunkEnd } from './chunks.ts';
import type { ChangelogReader } from '../clients/port.ts';
import type { RestoreTarget } from '../model/changelog.ts';

export interface LaneTopics {
  input: string;
  changelog: string;
}

/** What a lane runs over each chunk: the source data path, or a cross-partition merge. */
export interface LaneProcessor {
  /** `traced`: tracing is on, so the result lists its window results (BatchResult.traced) */
  process(records: readonly InputRecord[], store: StoreTransaction, streamTime: number, deadline: number, traced: boolean): BatchResult;
  /** An idle close at wall-clock `now`, the lane quiet for `idleMs`: a transaction with no input (processors/idle-close.ts). Source lanes only. */
  closeIdle?(store: StoreTransaction, streamTime: number, now: number, idleMs: number, traced: boolean): BatchResult;
  /** Asynchronous lookups a batch needs (schemas from a registry), before `process` runs synchronously over it. */
  prepare?(records: readonly InputRecord[]): Promise<void>;
  onOpen?(store: PartitionStore): void;
  onClose?(): void;
}

export interface LaneOptions {
  /** source lanes read the input topic; merge lanes read a cross-partition window's partials */
  kind: 'source' | 'merge';
  partition: number;
  spec: PipelineSpec;
  processor: LaneProcessor;
  topics: LaneTopics;
  guarantee: 'exactly-once' | 'at-least-once';
  storePath: string;
  /** how long an open waits for the store's previous owner to close it */
  lockWaitMs: number;
  batching: BatchingBounds;
  /** the changelog's delete.retention.ms: older local state may have missed tombstones */
  tombstoneRetentionMs: number;
  sink: LaneSink;
  restorer: ChangelogReader;
  /** the changelog partition's high watermark */
  changelogEnd: () => Promise<string>;
  /** the group's committed offset for this lane's input partition: a cross-check only */
  committedOffset: () => Promise<string | undefined>;
  /** hears of every committed chunk, restore and close (metrics, tracing) */
  observer: LaneObserver;
  /** the lane's partitions of co-partitioned reference tables, loaded when it opens */
  tables?: { open(heartbeat: () => Promise<void>): Promise<void>; close(): Promise<void> };
  /** where the lane shows itself, once open, to interactive queries and ownership announcements */
  openLanes?: OpenLanes;
  log: Logger;
}

/** What the consumer tells a lane about a fetched batch, and how it hears back about memory. */
export interface BatchFlow {
  /** records on the broker beyond this batch (the partition's lag after it) */
  lagBeyond: number;
  /** output bytes of a transaction, from produce until acknowledged (backpressure accounting) */
  holdOutput(bytes: number): void;
  releaseOutput(bytes: number): void;
}

const NO_FLOW: BatchFlow = { lagBeyond: 0, holdOutput: () => undefined, releaseOutput: () => undefined };

/** Output size for backpressure accounting: string length is close enough, and costs nothing. */
function approxBytes(records: readonly { key: unknown; value: unknown }[]): number {
  let n = 0;
  for (const r of records) n += 70 + ((r.key as { length?: number } | null)?.length ?? 0) + ((r.value as { length?: number } | null)?.length ?? 0);
  return n;
}

/** A restore target that reports, after each applied batch, how many changelog records are left to `until`. */
function reportingProgress(target: RestoreTarget, from: string | undefined, until: string, observer: LaneObserver): RestoreTarget {
  const end = BigInt(until);
  observer.restoring(Number(end - BigInt(from ?? '0')));
  return {
    apply(records, next) {
      target.apply(records, next);
      const left = end - BigInt(next);
      observer.restoring(left > 0n ? Number(left) : 0);
    },
  };
}

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
  private readonly processor: LaneProcessor;
  private readonly batching: BatchController;
  private owned: ChangeloggedStore | undefined;
  private store: PartitionStore | undefined;
  private checkpoint: Checkpoint | undefined;
  /** next input offset to process; undefined until the partition was ever committed */
  nextOffset: bigint | undefined;
  private streamTime = Number.NEGATIVE_INFINITY;
  private changelogNext: string | undefined;
  /** how long without input makes the lane idle (the shortest closeIdleAfter); undefined: never */
  private readonly idleAfterMs: number | undefined;
  /** wall clock when the last batch with records was done, or of the open: idleness counts from it */
  private lastInputAtMs = 0;
  /** records on the broker beyond the last chunk committed; undefined before the first */
  private lag: number | undefined;
  private leaveOpenLanes: (() => void) | undefined;
  restoreMode: RestoreMode = 'none';
  restoredRecords = 0;

  constructor(opts: LaneOptions) {
    this.opts = opts;
    this.partition = opts.partition;
    this.times = storeTimes(opts.spec);
    this.processor = opts.processor;
    this.batching = new BatchController(opts.batching);
    this.idleAfterMs = opts.processor.closeIdle === undefined ? undefined : shortestCloseIdleAfter(opts.spec.windows);
  }

  /**
   * Opening order matters:
   *   1. init the partition's transactional producer: fences a zombie owner and makes the
   *      coordinator finish (commit or abort) whatever transaction it left open;
   *   2. take the store's lock (ChangeloggedStore.open): the fenced owner lets go at its next commit;
   *   3. only then read the changelog partition's end: no transaction on it is open any more, so
   *      the end is exactly the last committed batch (the group's committed offset is not the
   *      end: without KIP-447's stable offset fetch it can lag for a moment after fencing);
   *   4. bring LMDB up to that end: replay the gap after what it holds, or restore it whole;
   *   5. cross-check the store's input offset with the group's (exactly-once: they must agree);
   *   6. resume at the input offset named by the store's last changelog meta record; the caller
   *      skips input below it (a zombie may have committed past the fetch position).
   */
  async open(heartbeat: () => Promise<void>): Promise<void> {
    const { partition, log } = this.opts;
    await this.opts.sink.open();
    // One writer per store: a lane that lost this partition may still be finishing a batch. It
    // was fenced just now, so it lets go at its next Kafka commit at the latest.
    const owned = await ChangeloggedStore.open({
      path: this.opts.storePath,
      times: this.times,
      lockWaitMs: this.opts.lockWaitMs,
      tombstoneRetentionMs: this.opts.tombstoneRetentionMs,
      read: (target, fromOffset, untilOffset) => this.opts.restorer.restore(reportingProgress(target, fromOffset, untilOffset, this.opts.observer), { topic: this.opts.topics.changelog, partition, fromOffset, untilOffset, heartbeat }),
      log,
      name: this.name,
    });
    this.owned = owned;
    const store = owned.store;
    this.store = store;
    const end = await this.opts.changelogEnd();
    let mode = await this.restore(owned, end, false);
    if (this.opts.guarantee === 'exactly-once') {
      const mismatch = await this.groupMismatch(store);
      if (mismatch !== undefined) {
        // TaskCorrupted's recovery: wipe and rebuild from the changelog, once.
        log.error(`${this.name}: ${mismatch.message} after restore=${mode}; wiping local state and restoring from the changelog`);
        mode = await this.restore(owned, end, true);
        const still = await this.groupMismatch(store);
        if (still?.behind) {
          throw new TaskCorruptedError(partition, `${this.name}: ${still.message} even after a full restore from the changelog (end ${end}); was the changelog deleted or truncated?`);
        }
        // The changelog names the input offset its state stands for, and it is the only record
        // of what was counted: resuming there never counts an event twice. The group's offset
        // was moved back under it (a reset, or a switch from at-least-once after a crash).
        if (still !== undefined) log.warn(`${this.name}: ${still.message}; the changelog's state is ahead of the group, so input before offset ${store.meta().inputOffset} is not processed again`);
      }
    }
    const history = await owned.seal(end);
    // Before the first batch: an event must find the rows its table partition had when it came.
    await this.opts.tables?.open(heartbeat);
    this.restoreMode = mode;
    this.processor.onOpen?.(store);
    this.opts.observer.opened({ stats: () => store.stats(), openWindows: () => (this.opts.kind === 'source' ? store.windowCount() : undefined) });
    this.leaveOpenLanes = this.opts.openLanes?.add({ kind: this.opts.kind, topic: this.opts.topics.input, partition, state: store, lag: () => this.lag });
    const meta = store.meta();
    this.streamTime = meta.streamTime;
    this.changelogNext = meta.changelogNext;
    // At-least-once reprocesses from the group's offset: its outputs may be missing even where
    // the changelog already holds the state, and dedupe hides what the state saw.
    this.nextOffset = this.opts.guarantee === 'exactly-once' && meta.inputOffset !== undefined ? BigInt(meta.inputOffset) : undefined;
    this.checkpoint = new Checkpoint(this.opts.sink, this.opts.topics, partition, history);
    this.lastInputAtMs = Date.now();
    log.info(`${this.name}: lane open, restore=${mode}, changelog end ${end}, next offset ${this.nextOffset ?? 'from group'}, stream time ${Number.isFinite(this.streamTime) ? new Date(this.streamTime).toISOString() : 'none'}, ${store.countDedupe()} ids, ${store.countWindows()} open windows`);
  }

  /** Step 4 of open: brings the store up to the changelog end; returns how. */
  private async restore(owned: ChangeloggedStore, end: string, full: boolean): Promise<RestoreMode> {
    const outcome = await traceRestore(this.traceTarget(), full, () => owned.bringTo(end, full));
    if (outcome.mode !== 'none') this.restoredRecords = outcome.records;
    this.opts.observer.restored({ lane: this.name, mode: outcome.mode, records: outcome.records, durationMs: outcome.durationMs });
    return outcome.mode;
  }

  /**
   * After fencing, the group's committed offset and the store's must be equal: every commit puts
   * both in one Kafka transaction. The group's side may lag for a moment (neither client asks for
   * a KIP-447 stable offset fetch), so a store ahead is asked again before it counts. State behind
   * the group misses a committed batch; state ahead of it came from another history (the group's
   * offsets were reset, or the changelog was recreated). No committed offset (a new group, or
   * offsets expired) is no evidence either way. Returns what is wrong, or undefined.
   */
  private async groupMismatch(store: PartitionStore): Promise<{ behind: boolean; message: string } | undefined> {
    const local = store.meta().inputOffset;
    for (let attempt = 0; ; attempt++) {
      const committed = await this.opts.committedOffset();
      if (committed === undefined || committed === local) return undefined;
      const behind = local === undefined || BigInt(local) < BigInt(committed);
      if (behind || attempt >= 5) return { behind, message: `local state is at input offset ${local ?? 'none'}, the group's committed offset is ${committed}` };
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }

  /**
   * Processes a fetched batch in chunks, one checkpoint each, sized by the batch controller from
   * the lag (see batch-controller.ts). Returns the last offset handled.
   */
  async process(messages: readonly InputRecord[], heartbeat: () => Promise<void>, flow: BatchFlow = NO_FLOW): Promise<string | undefined> {
    const store = this.store;
    const checkpoint = this.checkpoint;
    if (store === undefined || checkpoint === undefined) throw new Error(`lane ${this.partition} is not open`);
    const { observer } = this.opts;
    const maxBytes = this.opts.batching.maxBytes;
    await this.processor.prepare?.(messages);
    // Tracing is on or off for the whole batch: the one check (observability/tracing-sdk.ts).
    const tracer = activeTracer();
    let i = 0;
    // Records below nextOffset were committed by a previous owner after our fetch position was set.
    if (this.nextOffset !== undefined) while (i < messages.length && BigInt(messages[i]!.offset) < this.nextOffset) i++;
    let last = i > 0 ? messages[i - 1]!.offset : undefined;
    while (i < messages.length) {
      const plan = this.batching.plan(messages.length - i + flow.lagBeyond);
      let end = chunkEnd(messages, i, plan.maxRecords, maxBytes);
      const tx = new StoreTransaction(store, this.times);
      const began = performance.now();
      const span = tracer === undefined ? undefined : new BatchTrace(tracer, 'sluice.batch', this.traceTarget());
      let result: BatchResult;
      let processingMs: number;
      let changelogNext: string | undefined;
      let nextOffset: string;
      let started: bigint;
      try {
        result = this.processor.process(messages.slice(i, end), tx, this.streamTime, began + plan.deadlineMs, span !== undefined);
        processingMs = performance.now() - began;
        end = i + result.consumed;
        span?.processed(firstTraceContexts(messages, i, end), result.traced);
        nextOffset = (BigInt(messages[end - 1]!.offset) + 1n).toString();
        started = process.hrtime.bigint();
        const outputBytes = approxBytes(result.records);
        flow.holdOutput(outputBytes);
        try {
          changelogNext = await checkpoint.commit({ tx, outputs: result.records, nextOffset, streamTime: result.streamTime, changelogNext: this.changelogNext, span });
        } finally {
          flow.releaseOutput(outputBytes);
        }
      } catch (err) {
        span?.aborted(err);
        throw err;
      }
      const lastOffset = messages[end - 1]!.offset;
      this.batching.observe(result.consumed, processingMs, performance.now() - began);
      this.changelogNext = changelogNext;
      this.streamTime = result.streamTime;
      this.nextOffset = BigInt(nextOffset);
      last = lastOffset;
      const first = i;
      i = end;

      const commitSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const chunk: CommittedChunk = { lane: this.name, mode: plan.mode, records: result.consumed, outputs: result.records.length, nextOffset, commitSeconds, streamTime: this.streamTime, stats: result.stats, input: messages, first, end, lag: messages.length - end + flow.lagBeyond };
      this.lag = chunk.lag;
      observer.committed(chunk);
      span?.committed(chunk);
      if (i < messages.length) await heartbeat();
    }
    // Idleness counts from the end of a batch: a long one must not make the lane look quiet.
    if (messages.length > 0) this.lastInputAtMs = Date.now();
    return last;
  }

  /**
   * Whether the lane is open and has had no input for its shortest closeIdleAfter at wall-clock
   * `now`. (Not also "its last batch reached the partition's end": behind a transactional
   * producer the end is a commit marker, so the lag a batch reports never reaches 0.)
   */
  idleAt(now: number): boolean {
    return this.idleAfterMs !== undefined && this.checkpoint !== undefined && now - this.lastInputAtMs >= this.idleAfterMs;
  }

  /**
   * Starts the idle clock again: after a rebalance or a backpressure pause the input may be
   * waiting on the broker, not missing, until the next fetch says otherwise.
   */
  restartIdleClock(): void {
    this.lastInputAtMs = Date.now();
  }

  /**
   * Closes what idleness closes at wall-clock `now` (processors/idle-close.ts) in a transaction
   * of its own, committed through the checkpoint as a batch is: finals, changelog and a meta
   * record at the same input offset and stream time, then LMDB. So a crash before the Kafka commit
   * leaves the windows open and nothing written, and after it they are closed for good. Commits
   * nothing when nothing is due. The caller never runs it beside a batch of this lane.
   */
  async closeIdle(now: number): Promise<void> {
    const { store, checkpoint, processor } = this;
    if (store === undefined || checkpoint === undefined || processor.closeIdle === undefined) return;
    // The position stays where the last batch left it; a partition never committed has no windows.
    const inputOffset = this.nextOffset?.toString() ?? store.meta().inputOffset;
    if (inputOffset === undefined) return;
    const tx = new StoreTransaction(store, this.times);
    const began = performance.now();
    const tracer = activeTracer();
    const result = processor.closeIdle(tx, this.streamTime, now, now - this.lastInputAtMs, tracer !== undefined);
    if (result.records.length === 0 && tx.size === 0) return;
    // Started only now, so that the many idle checks that close nothing make no spans.
    const span = tracer === undefined ? undefined : new BatchTrace(tracer, 'sluice.idle-close', this.traceTarget(), performance.timeOrigin + began);
    try {
      span?.processed([], result.traced);
      this.changelogNext = await checkpoint.commit({ tx, outputs: result.records, nextOffset: inputOffset, streamTime: this.streamTime, changelogNext: this.changelogNext, span });
    } catch (err) {
      span?.aborted(err);
      throw err;
    }
    const commitSeconds = (performance.now() - began) / 1000;
    const chunk: CommittedChunk = { lane: this.name, mode: 'idle', records: 0, outputs: result.records.length, nextOffset: inputOffset, commitSeconds, streamTime: this.streamTime, stats: result.stats, input: [], first: 0, end: 0 };
    this.opts.observer.committed(chunk);
    span?.committed(chunk);
  }

  /** what this lane's spans say about it (tracing on only) */
  private traceTarget(): TracedLane {
    return { lane: this.name, kind: this.opts.kind, topic: this.opts.topics.input, partition: this.partition, guarantee: this.opts.guarantee };
  }

  /** Backpressure paused (true) or resumed (false) this lane's intake: reported, nothing else. */
  intakePaused(paused: boolean): void {
    this.opts.observer.paused(paused);
  }

  /** how logs name this lane: source lanes by input partition, merge lanes by topic too */
  get name(): string {
    return this.opts.kind === 'source' ? `partition ${this.partition}` : `${this.opts.topics.input} partition ${this.partition}`;
  }

  summary(): string {
    const s = this.store;
    return `${this.name}: next offset ${this.nextOffset ?? 'earliest'}, ${s ? s.countDedupe() : 0} ids, ${s ? s.countWindows() : 0} open windows, restore=${this.restoreMode} (${this.restoredRecords} records)`;
  }

  async close(): Promise<void> {
    const owned = this.owned;
    this.store = undefined;
    this.owned = undefined;
    this.checkpoint = undefined;
    // The store and its lock go whatever fails before them: a lock held on would keep the
    // partition from ever opening in this process again.
    try {
      // First: a scrape or a query must never read the store once it closes, whatever fails below.
      this.leaveOpenLanes?.();
      this.leaveOpenLanes = undefined;
      this.opts.observer.closed();
      this.processor.onClose?.();
      await this.opts.tables?.close().catch((err: Error) => this.opts.log.warn(`${this.name}: closing its tables failed: ${err.message}`));
      await this.opts.sink.close();
    } finally {
      await owned?.close();
    }
  }
}
