// Follows partitions of a topic on kafkajs, read_committed, for as long as a reference table
// lives (platformatic/topic-follower.ts is the other client's). kafkajs consumes only through a
// group, so this uses a throwaway group whose assigner hands its one member every partition
// asked for; it never joins the application's group and never commits offsets.
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { fixedAssigner } from './changelog-reader.ts';
import type { FollowDeliver, FollowRequest, TopicFollower } from '../port.ts';

export async function followOnKafkajs(kafka: Kafka, groupPrefix: string, req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower> {
  const partitions = [...req.from.keys()];
  const consumer: Consumer = kafka.consumer({
    groupId: `${groupPrefix}-follow-${randomBytes(4).toString('hex')}`,
    partitionAssigners: [fixedAssigner(req.topic, partitions)],
    readUncommitted: false,
    maxWaitTimeInMs: 250,
    maxBytesPerPartition: 4 * 1024 * 1024,
    retry: { retries: 5 },
  });
  let fail!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let stopped = false;
  // Where each partition is: a consumer kafkajs restarts itself (after a broker error) joins its
  // throwaway group again with no committed offsets, and would read from the earliest.
  const next = new Map<number, string | undefined>(req.from);
  const forward = (partition: number, records: Parameters<FollowDeliver>[1], to: bigint) => {
    next.set(partition, to.toString());
    deliver(partition, records, to);
  };
  let joins = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joins++ === 0 || stopped) return;
    for (const [partition, offset] of next) if (offset !== undefined) consumer.seek({ topic: req.topic, partition, offset });
  });
  // A partition that ends in transaction markers moves without records reaching eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    if (!stopped && e.payload.topic === req.topic) forward(e.payload.partition, [], BigInt(e.payload.lastOffset) + 1n);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!stopped && !e.payload.restart) fail(e.payload.error);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: req.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (stopped) return;
        try {
          forward(batch.partition, batch.messages, BigInt(batch.lastOffset()) + 1n);
        } catch (err) {
          // Thrown back at kafkajs, it would restart the consumer and deliver the batch again.
          stopped = true;
          fail(err as Error);
        }
      },
    });
    for (const [partition, offset] of req.from) if (offset !== undefined) consumer.seek({ topic: req.topic, partition, offset });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw err;
  }
  return {
    failed,
    stop: async () => {
      stopped = true;
      await consumer.disconnect().catch(() => undefined);
    },
  };
}
