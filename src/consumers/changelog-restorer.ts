// Brings a partition's LMDB store up to date from its changelog partition, read_committed.
// kafkajs can only consume through a group, so each restore uses a throwaway group whose
// assigner hands this one member just the one changelog partition; it never joins the
// application's group and never commits offsets.
import { randomBytes } from 'node:crypto';
import { AssignerProtocol } from 'kafkajs';
import type { Kafka, PartitionAssigner } from 'kafkajs';
import { sluiceError } from '../errors.ts';
import { applyChangelogRecord } from '../state/changelog-codec.ts';
import type { ChangelogMeta } from '../state/changelog-codec.ts';
import type { PartitionStore } from '../state/partition-store.ts';

export interface RestoreRequest {
  topic: string;
  partition: number;
  /** first changelog offset to read; undefined = from the earliest */
  fromOffset: string | undefined;
  /** stop once a meta record says the store reached this input offset (exactly-once) */
  untilInputOffset: string | undefined;
  /** or stop at this changelog end offset (at-least-once, where there are no transactions) */
  untilChangelogEnd: string | undefined;
  /** keeps the application's group membership alive during a long restore */
  heartbeat: () => Promise<void>;
  /** how long the changelog may stay silent before the restore gives up */
  stallTimeoutMs?: number;
}

function singlePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  return () => ({
    name: 'sluice-restore',
    version: 1,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: i === 0 ? { [topic]: [partition] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'sluice-restore', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

export class ChangelogRestorer {
  private readonly kafka: Kafka;
  private readonly groupPrefix: string;

  constructor(kafka: Kafka, groupPrefix: string) {
    this.kafka = kafka;
    this.groupPrefix = groupPrefix;
  }

  /** Applies changelog records to `store`; returns how many were applied. */
  async restore(store: PartitionStore, req: RestoreRequest): Promise<number> {
    if (req.untilChangelogEnd !== undefined && req.fromOffset !== undefined && BigInt(req.fromOffset) >= BigInt(req.untilChangelogEnd)) return 0;
    const consumer = this.kafka.consumer({
      groupId: `${this.groupPrefix}-restore-${req.partition}-${randomBytes(4).toString('hex')}`,
      partitionAssigners: [singlePartitionAssigner(req.topic, req.partition)],
      readUncommitted: false,
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 5 },
    });
    let applied = 0;
    let lastProgress = Date.now();
    let lastHeartbeat = 0;
    let finish!: (err?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
    let done = false;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: req.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          if (done || batch.partition !== req.partition) return;
          let meta: ChangelogMeta | undefined;
          let reached = false;
          const messages = batch.messages;
          store.write((w) => {
            for (const m of messages) {
              const key = m.key?.toString() ?? '';
              const value = m.value === null ? null : m.value.toString();
              meta = applyChangelogRecord(w, key, value) ?? meta;
              applied++;
              if (meta !== undefined && req.untilInputOffset !== undefined && meta.inputOffset === req.untilInputOffset) reached = true;
              if (req.untilChangelogEnd !== undefined && BigInt(m.offset) + 1n >= BigInt(req.untilChangelogEnd)) reached = true;
            }
            // Same transaction as the records: a crash mid-restore resumes from here, not from zero.
            const last = messages[messages.length - 1];
            if (last) w.setMeta({ changelogNext: (BigInt(last.offset) + 1n).toString() });
          });
          lastProgress = Date.now();
          if (reached) {
            done = true;
            finish();
          }
        },
      });
      if (req.fromOffset !== undefined) consumer.seek({ topic: req.topic, partition: req.partition, offset: req.fromOffset });
      const stallMs = req.stallTimeoutMs ?? 60_000;
      while (!done) {
        const tick = new Promise<'tick'>((r) => setTimeout(() => r('tick'), 500));
        if ((await Promise.race([finished.then(() => 'done' as const), tick])) === 'done') break;
        if (Date.now() - lastHeartbeat > 2000) {
          await req.heartbeat().catch(() => undefined);
          lastHeartbeat = Date.now();
        }
        if (Date.now() - lastProgress > stallMs) {
          throw sluiceError('SLUICE_KAFKA', `restoring partition ${req.partition} from ${req.topic} stalled: no changelog record for ${Math.round(stallMs / 1000)}s before reaching input offset ${req.untilInputOffset ?? '-'} / changelog end ${req.untilChangelogEnd ?? '-'}`);
        }
      }
      await finished;
      return applied;
    } finally {
      done = true;
      await consumer.disconnect().catch(() => undefined);
    }
  }
}
