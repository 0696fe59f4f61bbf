// The broker features the exactly-once engine stands on: a transactional consume -> produce ->
// sendOffsets -> commit, and aborted transactions that read_committed consumers never see.
import { describe, expect, it } from 'vitest';
import { createTopics, readTopic, testKafka, uniqueName, withAdmin } from '../helpers/kafka.ts';

describe('Kafka transactions', () => {
  it('commits output and consumer offsets atomically', async () => {
    const input = uniqueName('tx-in');
    const output = uniqueName('tx-out');
    const groupId = uniqueName('tx-group');
    await createTopics([{ topic: input, numPartitions: 1 }, { topic: output, numPartitions: 1 }]);
    const kafka = testKafka();
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: input, messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i) })) });
    await plain.disconnect();

    const producer = kafka.producer({ transactionalId: `${groupId}-0`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const consumer = kafka.consumer({ groupId, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let processed = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          const txn = await producer.transaction();
          try {
            await txn.send({ topic: output, messages: batch.messages.map((m) => ({ value: `out-${m.value?.toString()}` })) });
            const next = (BigInt(batch.lastOffset()) + 1n).toString();
            await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: next }] }] });
            await txn.commit();
          } catch (err) {
            await txn.abort();
            throw err;
          }
          resolveOffset(batch.lastOffset());
          processed += batch.messages.length;
          if (processed >= 10) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();
    await producer.disconnect();

    const out = await readTopic(output, { done: (m) => m.length >= 10 });
    expect(out.map((m) => m.value)).toEqual(Array.from({ length: 10 }, (_, i) => `out-${i}`));
    const offsets = await withAdmin((admin) => admin.fetchOffsets({ groupId, topics: [input] }));
    expect(offsets[0]?.partitions[0]?.offset).toBe('10');
  });

  it('hides aborted transactions from read_committed consumers', async () => {
    const topic = uniqueName('tx-abort');
    await createTopics([{ topic, numPartitions: 1 }]);
    const producer = testKafka().producer({ transactionalId: uniqueName('tx-abort-id'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed' }] });
    await committed.commit();
    await producer.disconnect();

    const seen = await readTopic(topic, { done: (m) => m.some((x) => x.value === 'committed') });
    expect(seen.map((m) => m.value)).toEqual(['committed']);
    // The aborted records were really written: a read_uncommitted reader sees them.
    const raw = await readTopic(topic, { readUncommitted: true, done: (m) => m.some((x) => x.value === 'committed') });
    expect(raw.map((m) => m.value)).toEqual(['aborted-1', 'aborted-2', 'committed']);
  });

  it('hides aborted transactions that interleave: one started first but aborted last', async () => {
    // The broker lists aborted transactions in abort order; unpatched kafkajs assumed start order
    // and let `first-a` through. sluice reads its changelogs and partials topics this way.
    const topic = uniqueName('tx-interleave');
    await createTopics([{ topic, numPartitions: 1 }]);
    const first = testKafka().producer({ transactionalId: uniqueName('tx-first'), idempotent: true, maxInFlightRequests: 1 });
    const second = testKafka().producer({ transactionalId: uniqueName('tx-second'), idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([first.connect(), second.connect()]);
    const a = await first.transaction();
    await a.send({ topic, messages: [{ value: 'first-a' }] });
    const b = await second.transaction();
    await b.send({ topic, messages: [{ value: 'second-a' }] });
    await b.abort();
    await a.send({ topic, messages: [{ value: 'first-b' }] });
    await a.abort();
    const ok = await first.transaction();
    await ok.send({ topic, messages: [{ value: 'committed' }] });
    await ok.commit();
    await Promise.all([first.disconnect(), second.disconnect()]);

    const seen = await readTopic(topic, { done: (m) => m.some((x) => x.value === 'committed') });
    expect(seen.map((m) => m.value)).toEqual(['committed']);
  });
});
