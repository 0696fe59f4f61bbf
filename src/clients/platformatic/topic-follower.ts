// Follows partitions of a topic on @platformatic/kafka, read_committed, for as long as a reference
// table lives (kafkajs/topic-follower.ts is the other client's): raw fetches on connections of
// its own, no group.
import { sluiceError } from '../../errors.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { PartitionFetcher, fetchKey } from './fetch.ts';
import { platformaticKafka } from './loader.ts';
import type { FollowDeliver, FollowRequest, TopicFollower } from '../port.ts';

const { Consumer } = platformaticKafka;

export async function followOnPlatformatic(conn: PlatformaticConnection, earliest: (topic: string, partition: number) => Promise<bigint>, req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower> {
  const positions = new Map<number, bigint>();
  for (const [partition, offset] of req.from) positions.set(partition, offset !== undefined ? BigInt(offset) : await earliest(req.topic, partition));
  const consumer = new Consumer({ ...connectionOptions(conn, 'follow'), groupId: `${conn.clientId}-follow-unused`, retries: 0 });
  const fetcher = new PartitionFetcher(consumer, { maxBytesPerPartition: 4 * 1024 * 1024 });
  let stopped = false;
  let fail!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));

  const loop = async () => {
    while (!stopped) {
      const items = [...positions].map(([partition, offset]) => ({ topic: req.topic, partition, offset }));
      const outcomes = await fetcher.fetch(items, 500);
      let retry = false;
      for (const [partition, position] of positions) {
        const outcome = outcomes.get(fetchKey(req.topic, partition));
        if (stopped) return;
        if (outcome?.kind === 'records' && outcome.next > position) {
          deliver(partition, outcome.records, outcome.next);
          positions.set(partition, outcome.next);
        } else if (outcome?.kind === 'out-of-range') {
          throw sluiceError('SLUICE_KAFKA', `following partition ${partition} of ${req.topic}: offset ${position} is out of range; was the topic truncated?`);
        } else if (outcome?.kind === 'unreadable') {
          throw outcome.error;
        } else if (outcome?.kind === 'retry') {
          retry = true;
        }
      }
      // An empty answer already waited on the broker; only errors need a pause of their own.
      if (retry) await new Promise((r) => setTimeout(r, 200));
    }
  };
  const running = loop().catch((err: unknown) => {
    if (!stopped) fail(err as Error);
  });
  return {
    failed,
    stop: async () => {
      stopped = true;
      await running;
      await consumer.close(true).catch(() => undefined);
    },
  };
}
