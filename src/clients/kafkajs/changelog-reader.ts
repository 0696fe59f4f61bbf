// Bounded reads of one partition, read_committed, on kafkajs (platformatic/changelog-reader.ts is
// the other client's): restores of a partition's LMDB store from its changelog, and the dlq
// commands' scans of the dead-letter topic.
// kafkajs can only consume through a group, so each read uses a throwaway group whose assigner
// hands this one member just the one partition; it never joins the application's group and
// never commits offsets.
import { randomBytes } from 'node:crypto';
import type { Kafka, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from './loader.ts';
import type { RestoreTarget } from '../../model/changelog.ts';
import { RestoreWatch } from '../restore-watch.ts';
import type { ChangelogReader, DeliverRecords, PartitionReadRequest, PartitionReader, RestoreRequest } from '../port.ts';

/** An assigner that hands a throwaway group's one member exactly these partitions of `topic`. */
export function fixedAssigner(topic: string, partitions: readonly number[]): PartitionAssigner {
  return () => ({
    name: 'sluice-fixed',
    version: 1,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: i === 0 ? { [topic]: [...partitions] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'sluice-fixed', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

export class KafkajsChangelogReader implements ChangelogReader, PartitionReader {
  private readonly kafka: Kafka;
  private readonly groupPrefix: string;

  constructor(kafka: Kafka, groupPrefix: string) {
    this.kafka = kafka;
    this.groupPrefix = groupPrefix;
  }

  restore(target: RestoreTarget, req: RestoreRequest): Promise<void> {
    return this.read(req, (records, next) => target.apply(records, next));
  }

  async read(req: PartitionReadRequest, deliver: DeliverRecords): Promise<void> {
    const end = BigInt(req.untilOffset);
    if (req.fromOffset !== undefined && BigInt(req.fromOffset) >= end) return;
    const consumer = this.kafka.consumer({
      groupId: `${this.groupPrefix}-restore-${req.partition}-${randomBytes(4).toString('hex')}`,
      partitionAssigners: [fixedAssigner(req.topic, [req.partition])],
      readUncommitted: false,
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 5 },
    });
    const watch = new RestoreWatch(req);
    let finish!: (err?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
    let done = false;
    // The position counts control records (transaction markers) too, which never reach eachBatch:
    // a read_committed partition often ends in a marker, so the end is seen through batch events.
    const reachedEnd = (lastOffset: string) => {
      watch.progressed();
      if (!done && BigInt(lastOffset) + 1n >= end) {
        done = true;
        finish();
      }
    };
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.partition === req.partition) reachedEnd(e.payload.lastOffset);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: req.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          if (done || batch.partition !== req.partition) return;
          try {
            await deliver(batch.messages, BigInt(batch.lastOffset()) + 1n);
          } catch (err) {
            // Thrown back at kafkajs, it would only restart the consumer and fetch the batch again.
            done = true;
            finish(err as Error);
            return;
          }
          reachedEnd(batch.lastOffset());
        },
      });
      if (req.fromOffset !== undefined) consumer.seek({ topic: req.topic, partition: req.partition, offset: req.fromOffset });
      while (!done) {
        const tick = new Promise<'tick'>((r) => setTimeout(() => r('tick'), 500));
        if ((await Promise.race([finished.then(() => 'done' as const), tick])) === 'done') break;
        await watch.check();
      }
      await finished;
    } finally {
      done = true;
      await consumer.disconnect().catch(() => undefined);
    }
  }
}
