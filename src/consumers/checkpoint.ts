// The checkpoint owns the commit order of one lane's batch. Every step depends on the one before:
//
//   1. flush sinks: the batch's aggregates and dead letters are produced,
//   2. produce the changelog: one record per changed state key, then the meta record that names
//      the input offset this state corresponds to (restore stops when it reads that record),
//   3. commit input offsets: sendOffsets inside the same Kafka transaction, then commit it;
//      steps 1-3 become visible together or not at all (at-least-once: sends are acknowledged
//      first, then the consumer commits the offset),
//   4. commit local state: one LMDB transaction with the state changes, the input offset and the
//      changelog position.
//
// A crash before 3 leaves nothing visible and LMDB untouched. A crash between 3 and 4 leaves
// LMDB one batch behind the committed offset; the next open notices and replays the changelog
// gap. So local state survives an unclean exit without a wipe.
import { TaskMigratedError } from '../errors.ts';
import type { OutRecord } from '../model/records.ts';
import type { BatchTrace } from '../observability/tracing-spans.ts';
import type { LaneSink } from '../clients/port.ts';
import { metaRecord } from '../state/changelog-codec.ts';
import { StaleCommitError } from '../state/partition-store.ts';
import type { StoreTransaction } from '../state/store-transaction.ts';

export interface CheckpointInput {
  tx: StoreTransaction;
  outputs: readonly OutRecord[];
  nextOffset: string;
  streamTime: number;
  /** the store's current changelog position, kept when this batch writes no changelog */
  changelogNext: string | undefined;
  /** the transaction's span while tracing is on: the Kafka commit gets one of its own */
  span?: BatchTrace | undefined;
}

export class Checkpoint {
  private readonly sink: LaneSink;
  private readonly topics: { input: string; changelog: string };
  private readonly partition: number;
  /** the store's changelog history, named in every meta record */
  private readonly history: string;

  constructor(sink: LaneSink, topics: { input: string; changelog: string }, partition: number, history: string) {
    this.sink = sink;
    this.topics = topics;
    this.partition = partition;
    this.history = history;
  }

  /** Runs steps 1-4; returns the new changelog position. Throws with LMDB untouched if Kafka fails. */
  async commit(input: CheckpointInput): Promise<string | undefined> {
    const topic = this.topics.changelog;
    const partition = this.partition;
    const changelog: OutRecord[] = [];
    for (const r of input.tx.changelogRecords()) changelog.push({ topic, partition, key: r.key, value: r.value });
    const meta = metaRecord({ inputOffset: input.nextOffset, streamTime: input.streamTime, history: this.history });
    changelog.push({ topic, partition, key: meta.key, value: meta.value });

    const offsets = { topic: this.topics.input, partition, nextOffset: input.nextOffset };
    const end = input.span === undefined ? await this.sink.commit(input.outputs, changelog, offsets) : await input.span.commit(input.outputs.length, changelog.length, () => this.sink.commit(input.outputs, changelog, offsets));

    const changelogNext = end ?? input.changelogNext;
    try {
      input.tx.commitLocal(input.changelogNext, { inputOffset: input.nextOffset, changelogNext, streamTime: input.streamTime });
    } catch (err) {
      if (err instanceof StaleCommitError) throw new TaskMigratedError(partition, `partition ${partition}: another owner wrote its local state after this batch committed (${err.message}); closing the lane`, { cause: err });
      throw err;
    }
    return changelogNext;
  }
}
