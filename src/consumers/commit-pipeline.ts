// A lane's commits, overlapped with its processing. A Kafka transaction is several sequential
// broker round trips; waiting for each before processing the next records puts the whole commit
// into the latency of every record fetched meanwhile, and on kafkajs it holds the fetch loop that
// every other lane of the worker waits on too. So a lane keeps at most two transactions:
//
//   committing: sealed, its Kafka transaction in flight (Checkpoint.commit: steps 1-4);
//   pending:    open, taking every chunk processed while `committing` is in flight; it reads
//               through `committing`'s writes (StoreTransaction's parent) before LMDB.
//
// When `committing` lands (Kafka committed, then LMDB), `pending` is detached from it, sealed and
// committed next: transactions still commit one at a time and in order, and each one's outputs,
// changelog and offsets are exactly what its chunks produced, so Checkpoint's commit order and
// crash safety are unchanged. A crash loses at most `committing` and `pending`, neither of
// which is visible or in LMDB. If `committing` fails, `pending` was built on it and is dropped
// with it; the lane is failed, and the consumer rewinds the partition to `restartOffset` (the
// next offset after the last transaction that landed) for the lane that replaces it.
import type { OutRecord } from '../model/records.ts';
import type { LaneObserver } from '../observability/lane-observer.ts';
import type { InputSpan } from '../observability/lane-observer.ts';
import type { BatchResult, BatchStats } from '../processors/batch-processor.ts';
import type { PartitionStore, StoreTimes } from '../state/partition-store.ts';
import { StoreTransaction } from '../state/store-transaction.ts';
import type { BatchController } from './batch-controller.ts';
import type { Checkpoint } from './checkpoint.ts';

/** How a transaction's output is counted against the consumer's in-flight bound. */
export interface OutputFlow {
  holdOutput(bytes: number): void;
  releaseOutput(bytes: number): void;
}

interface Batch {
  tx: StoreTransaction;
  outputs: OutRecord[];
  records: number;
  inputBytes: number;
  /** its outputs' bytes, held against the in-flight bound from processing until the commit ends */
  outputBytes: number;
  nextOffset: string;
  streamTime: number;
  stats: BatchStats;
  spans: InputSpan[];
  mode: string;
  processingMs: number;
  /** performance.now() when its first chunk began processing */
  began: number;
  settled: Deferred;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever waits on it sees the failure; unobserved, it must not crash the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Output size for backpressure accounting: string length is close enough, and costs nothing. */
function approxBytes(records: readonly { key: unknown; value: unknown }[]): number {
  let n = 0;
  for (const r of records) n += 70 + ((r.key as { length?: number } | null)?.length ?? 0) + ((r.value as { length?: number } | null)?.length ?? 0);
  return n;
}

function addStats(into: BatchStats, s: BatchStats): void {
  into.records += s.records;
  into.duplicates += s.duplicates;
  into.late += s.late;
  into.finals += s.finals;
  into.updates += s.updates;
  into.partials += s.partials;
  into.forgotten += s.forgotten;
  into.dropped += s.dropped;
  for (const [reason, n] of s.deadLetters) into.deadLetters.set(reason, (into.deadLetters.get(reason) ?? 0) + n);
}

export interface CommitPipelineOptions {
  store: PartitionStore;
  times: StoreTimes;
  checkpoint: Checkpoint;
  batching: BatchController;
  observer: LaneObserver;
  laneName: string;
  /** the store's changelog position when the lane opened */
  changelogNext: string | undefined;
  /** the input offset the store stands at when the lane opened, if known */
  restartOffset: string | undefined;
}

export class CommitPipeline {
  private readonly opts: CommitPipelineOptions;
  private committing: { batch: Batch; done: Promise<void> } | undefined;
  private pending: Batch | undefined;
  private failure: unknown;
  private changelogNext: string | undefined;
  /** input offset from which a replacement lane must read again: after the last landed commit */
  restartOffset: string | undefined;
  flow: OutputFlow = { holdOutput: () => undefined, releaseOutput: () => undefined };

  constructor(opts: CommitPipelineOptions) {
    this.opts = opts;
    this.changelogNext = opts.changelogNext;
    this.restartOffset = opts.restartOffset;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  get pendingRecords(): number {
    return this.pending?.records ?? 0;
  }

  get pendingInputBytes(): number {
    return this.pending?.inputBytes ?? 0;
  }

  /** Settles once every record handed in so far is committed (rejects if its transaction failed). */
  settled(): Promise<void> | undefined {
    return (this.pending ?? this.committing?.batch)?.settled.promise;
  }

  /** The transaction the next chunk is processed into. */
  txForChunk(firstOffset: string): StoreTransaction {
    this.restartOffset ??= firstOffset;
    const tx = this.pending?.tx ?? new StoreTransaction(this.opts.store, this.opts.times, this.committing?.batch.tx);
    tx.startChunk();
    return tx;
  }

  /** Adds a processed chunk to the pending transaction, and starts committing it if nothing is in flight. */
  add(tx: StoreTransaction, result: BatchResult, span: InputSpan, chunk: { mode: string; processingMs: number; began: number; inputBytes: number; nextOffset: string }): void {
    let batch = this.pending;
    if (batch === undefined) {
      const stats: BatchStats = { records: 0, duplicates: 0, late: 0, deadLetters: new Map(), finals: 0, updates: 0, partials: 0, forgotten: 0, dropped: 0 };
      batch = { tx, outputs: [], records: 0, inputBytes: 0, outputBytes: 0, nextOffset: chunk.nextOffset, streamTime: result.streamTime, stats, spans: [], mode: chunk.mode, processingMs: 0, began: chunk.began, settled: deferred() };
      this.pending = batch;
    }
    for (const r of result.records) batch.outputs.push(r);
    const outputBytes = approxBytes(result.records);
    batch.outputBytes += outputBytes;
    this.flow.holdOutput(outputBytes);
    batch.records += result.consumed;
    batch.inputBytes += chunk.inputBytes;
    batch.nextOffset = chunk.nextOffset;
    batch.streamTime = result.streamTime;
    batch.processingMs += chunk.processingMs;
    // The last chunk's mode names the transaction: catch-up once any chunk of it was behind.
    if (chunk.mode === 'catch-up') batch.mode = chunk.mode;
    addStats(batch.stats, result.stats);
    batch.spans.push(span);
    this.kick();
  }

  /** Waits until the transaction in flight, if any, has landed (and the pending one took its place). */
  async untilCommitted(): Promise<void> {
    await this.committing?.done;
    this.throwIfFailed();
  }

  /** Waits until everything handed in has committed; throws the failure that stopped it. */
  async flush(): Promise<void> {
    while (this.committing !== undefined) await this.committing.done;
    this.throwIfFailed();
  }

  /** Waits for the transaction in flight without committing what is pending (a failed or revoked lane). */
  async drain(): Promise<void> {
    this.dropPending(new Error(`${this.opts.laneName}: closed before this batch was committed`));
    await this.committing?.done;
  }

  /**
   * Processing failed part-way through a chunk, whose writes are in the pending transaction
   * already: nothing pending may ever commit. The transaction in flight still lands (or not).
   */
  abort(err: unknown): void {
    this.failure ??= err;
    this.dropPending(err);
  }

  private dropPending(err: unknown): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    this.release(pending.outputBytes);
    pending.settled.reject(err);
  }

  private release(bytes: number): void {
    try {
      this.flow.releaseOutput(bytes);
    } catch {
      // Accounting must never keep a transaction from finishing; the lane's close forgets it all.
    }
  }

  private kick(): void {
    if (this.committing !== undefined || this.pending === undefined || this.failure !== undefined) return;
    const batch = this.pending;
    this.pending = undefined;
    this.committing = { batch, done: this.commit(batch) };
  }

  private async commit(batch: Batch): Promise<void> {
    const { observer, batching, checkpoint } = this.opts;
    const started = process.hrtime.bigint();
    try {
      this.changelogNext = await checkpoint.commit({ tx: batch.tx, outputs: batch.outputs, nextOffset: batch.nextOffset, streamTime: batch.streamTime, changelogNext: this.changelogNext });
      this.restartOffset = batch.nextOffset;
      // Its writes are in LMDB now: the next transaction reads them there.
      this.pending?.tx.detachParent();
      batching.observe(batch.records, batch.processingMs, performance.now() - batch.began);
      const commitSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      observer.committed({ lane: this.opts.laneName, mode: batch.mode, records: batch.records, outputs: batch.outputs.length, nextOffset: batch.nextOffset, commitSeconds, streamTime: batch.streamTime, stats: batch.stats, spans: batch.spans });
      batch.settled.resolve();
    } catch (err) {
      this.failure ??= err;
      batch.settled.reject(err);
      // Built on the failed transaction's writes: it goes with it.
      this.dropPending(err);
    } finally {
      this.committing = undefined;
      this.release(batch.outputBytes);
      this.kick();
    }
  }
}
