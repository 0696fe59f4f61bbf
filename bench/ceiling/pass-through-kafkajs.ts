// The ceiling: what the same client (kafkajs) achieves for an exactly-once consume -> produce ->
// sendOffsets -> commit loop that does no processing at all, one transactional producer per
// partition and the same batch bounds as sluice. ceiling.ts runs as many of these member processes
// as sluice has workers, in one consumer group, and talks to them over IPC.
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import { chunkEnd } from '../../src/consumers/chunks.ts';
import { Kafka, logLevel } from '../../src/clients/kafkajs/loader.ts';
import { TRANSACTIONAL_RETRY } from '../../src/clients/kafkajs/sink.ts';
import { fail, report, serveMember } from './pass-through-member.ts';
import type { PassThroughInit } from './pass-through-member.ts';

/** Slices a fetched batch as a sluice lane does when it is behind: `maxRecords` and about `maxBytes` a transaction. */
function chunks(messages: readonly KafkaMessage[], maxRecords: number, maxBytes: number): KafkaMessage[][] {
  const out: KafkaMessage[][] = [];
  for (let i = 0; i < messages.length; ) {
    const end = chunkEnd(messages, i, maxRecords, maxBytes);
    out.push(messages.slice(i, end));
    i = end;
  }
  return out;
}

/** One chunk copied to the output, its offsets committed with it: one Kafka transaction. */
async function transact(producer: Producer, init: PassThroughInit, partition: number, chunk: readonly KafkaMessage[]): Promise<void> {
  const txn = await producer.transaction();
  try {
    await txn.send({ topic: init.output, messages: chunk.map((m) => ({ partition, key: m.key, value: m.value })) });
    const next = (BigInt(chunk.at(-1)!.offset) + 1n).toString();
    await txn.sendOffsets({ consumerGroupId: init.groupId, topics: [{ topic: init.input, partitions: [{ partition, offset: next }] }] });
    await txn.commit();
  } catch (err) {
    await txn.abort().catch(() => undefined);
    throw err;
  }
}

async function run(init: PassThroughInit): Promise<{ stop: () => Promise<void> }> {
  const kafka = new Kafka({ clientId: 'sluice-bench-ceiling', brokers: init.brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 8 } });
  const producers = new Map<number, Promise<Producer>>();
  const producerFor = (partition: number): Promise<Producer> => {
    let p = producers.get(partition);
    if (!p) {
      const producer = kafka.producer({ transactionalId: `${init.groupId}-${partition}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: TRANSACTIONAL_RETRY });
      p = producer.connect().then(() => producer);
      producers.set(partition, p);
    }
    return p;
  };
  const consumer: Consumer = kafka.consumer({
    groupId: init.groupId,
    readUncommitted: false,
    maxBytesPerPartition: init.maxBytes,
    maxWaitTimeInMs: 100,
    sessionTimeout: 6000,
    heartbeatInterval: 600,
    allowAutoTopicCreation: false,
  });
  // Producers open on joining, as sluice opens its lanes, so the drain measures steady work.
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = (e.payload.memberAssignment[init.input] ?? []).slice().sort((a, b) => a - b);
    for (const [partition, p] of producers) {
      if (assigned.includes(partition)) continue;
      producers.delete(partition);
      void p.then((producer) => producer.disconnect()).catch(() => undefined);
    }
    void Promise.all(assigned.map(producerFor)).then(() => report({ type: 'assigned', partitions: assigned, t: Date.now() }), fail);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: init.input, fromBeginning: true });
  let processed = 0;
  let transactions = 0;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: init.partitions,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const producer = await producerFor(batch.partition);
      for (const chunk of chunks(batch.messages, init.maxRecords, init.maxBytes)) {
        if (!isRunning() || isStale()) return;
        await transact(producer, init, batch.partition, chunk);
        resolveOffset(chunk.at(-1)!.offset);
        processed += chunk.length;
        transactions++;
        await heartbeat();
      }
    },
  });
  return {
    stop: async () => {
      await consumer.disconnect();
      await Promise.all([...producers.values()].map((p) => p.then((producer) => producer.disconnect()).catch(() => undefined)));
      report({ type: 'stopped', processed, transactions });
    },
  };
}

serveMember(run);
