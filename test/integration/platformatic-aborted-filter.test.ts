// read_committed on @platformatic/kafka against a real broker: a producer that aborted a
// transaction with data, then committed one, then aborted one that never wrote to the partition
// (the partition was added to it, its produce was refused). The broker lists only the first abort
// (an empty transaction is not in its aborted-transaction index), but both abort markers are in
// the log. @platformatic/kafka 2.12.1's own filter closed the listed range at the producer's LAST
// abort marker and dropped the committed transaction between them: a merge lane lost a source's
// partial that way after SIGKILLs, and a restore could lose changelog records the same way.
import { describe, expect, it } from 'vitest';
import { PlatformaticChangelogReader } from '../../src/clients/platformatic/changelog-reader.ts';
import { PartitionFetcher } from '../../src/clients/platformatic/fetch.ts';
import { platformaticKafka } from '../../src/clients/platformatic/loader.ts';
import type { InputRecord } from '../../src/model/records.ts';
import { brokers, createTopics, readTopic, testKafka, uniqueName, withAdmin } from '../helpers/kafka.ts';

const { Consumer } = platformaticKafka;

/** abort with data, commit, abort with nothing in the partition (a produce the broker refused) */
async function abortedCommittedEmptyAborted(topic: string): Promise<void> {
  const producer = testKafka().producer({ transactionalId: uniqueName('tx-empty-abort'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
    await committed.commit();
    const empty = await producer.transaction();
    // AddPartitionsToTxn puts the partition in the transaction; the produce is refused, so the
    // abort marker is all this transaction leaves in it.
    await expect(empty.send({ topic, messages: [{ value: 'x'.repeat(4096) }] })).rejects.toThrow();
    await empty.abort();
  } finally {
    await producer.disconnect();
  }
}

describe('read_committed on @platformatic/kafka', () => {
  it('keeps a committed transaction between two aborts of one producer, the second one empty', async () => {
    const topic = uniqueName('tx-empty-abort');
    await createTopics([{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }]);
    await abortedCommittedEmptyAborted(topic);
    const end = await withAdmin(async (admin) => (await admin.fetchTopicOffsets(topic))[0]!.high);
    // 2 aborted + marker, 2 committed + marker, the empty transaction's marker
    expect(end).toBe('7');
    // kafkajs (patched by sluice) agrees on what is committed
    expect((await readTopic(topic, { done: (m) => m.length >= 2 })).map((m) => m.value)).toEqual(['committed-1', 'committed-2']);

    // the group's fetch loop path: one fetch over the whole partition
    const consumer = new Consumer({ clientId: 'sluice-test-fetch', bootstrapBrokers: brokers(), groupId: uniqueName('unused'), retries: 0 });
    try {
      const outcome = (await new PartitionFetcher(consumer, { maxBytesPerPartition: 1 << 20 }).fetch([{ topic, partition: 0, offset: 0n }], 100)).get(`${topic}/0`);
      expect(outcome?.kind).toBe('records');
      const { records, next } = outcome as { records: InputRecord[]; next: bigint };
      expect(records.map((r) => r.value?.toString())).toEqual(['committed-1', 'committed-2']);
      expect(next).toBe(7n);
    } finally {
      await consumer.close(true);
    }

    // the restore path (changelogs) reads the same way
    const restored: string[] = [];
    const reader = new PlatformaticChangelogReader({ brokers: brokers(), clientId: 'sluice-test-restore' }, async () => 0n);
    await reader.read({ topic, partition: 0, fromOffset: '0', untilOffset: end, heartbeat: async () => undefined }, (records) => {
      for (const r of records) restored.push(r.value?.toString() ?? 'null');
    });
    expect(restored).toEqual(['committed-1', 'committed-2']);
  });
});
