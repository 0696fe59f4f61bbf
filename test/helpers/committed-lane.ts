// A source lane's data path without Kafka, for the processor tests that need a real store: every
// run (a batch, or an idle close) is a store transaction committed to LMDB at once, and the
// changelog records it wrote are kept, so a replica can be rebuilt from them.
import { storeTimes } from '../../src/consumers/lane.ts';
import type { InputRecord } from '../../src/model/records.ts';
import { BatchProcessor } from '../../src/processors/batch-processor.ts';
import type { BatchResult } from '../../src/processors/batch-processor.ts';
import { DLQ_HEADER } from '../../src/processors/dead-letter.ts';
import type { PipelineSpec } from '../../src/processors/types.ts';
import type { ChangelogRecord } from '../../src/state/changelog-codec.ts';
import type { PartitionStore } from '../../src/state/partition-store.ts';
import { StoreTransaction } from '../../src/state/store-transaction.ts';

export const LANE_TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };

/** `wrap`: what the processor sees of each transaction (a test may count its reads). */
export function committedLane(spec: PipelineSpec, store: PartitionStore, streamTimeIn = Number.NEGATIVE_INFINITY, wrap: (tx: StoreTransaction) => StoreTransaction = (tx) => tx) {
  const processor = new BatchProcessor(spec, LANE_TOPICS, 0);
  const changelog: ChangelogRecord[] = [];
  let streamTime = streamTimeIn;
  let commits = 0;
  const commit = (run: (tx: StoreTransaction) => BatchResult) => {
    const tx = new StoreTransaction(store, storeTimes(spec));
    const result = run(wrap(tx));
    changelog.push(...tx.changelogRecords());
    tx.commitLocal(undefined, { inputOffset: String(++commits), changelogNext: undefined, streamTime: result.streamTime });
    streamTime = result.streamTime;
    return {
      streamTime: result.streamTime,
      finals: result.records.filter((r) => r.topic === LANE_TOPICS.output).map((r) => `${String(r.key)} ${String(r.value)}`),
      dead: result.records.filter((r) => r.topic === LANE_TOPICS.deadLetter).map((r) => r.headers![DLQ_HEADER.reason]),
      stats: result.stats,
    };
  };
  return {
    store,
    changelog,
    run: (records: InputRecord[]) => commit((tx) => processor.process(records, tx, streamTime)),
    idle: (now: number, idleMs: number) => commit((tx) => processor.closeIdle(tx, streamTime, now, idleMs)),
  };
}
