// Brings a partition's LMDB store up to date from its changelog partition on @platformatic/kafka
// (kafkajs-changelog-reader.ts is the other client's). Raw fetches need no group, so unlike the
// kafkajs reader this one just reads the partition from an offset to the end.
import { sluiceError } from '../errors.ts';
import type { InputRecord } from '../processors/batch-processor.ts';
import { applyChangelogRecord } from '../state/changelog-codec.ts';
import type { PartitionStore } from '../state/partition-store.ts';
import { PartitionFetcher, fetchKey } from './platformatic-fetch.ts';
import { platformaticKafka } from './platformatic.ts';
import { RestoreWatch } from './restore-watch.ts';
import type { ChangelogReader, RestoreRequest } from './stream-client.ts';

const { Consumer } = platformaticKafka;

export class PlatformaticChangelogReader implements ChangelogReader {
  private readonly brokers: readonly string[];
  private readonly clientId: string;
  private readonly earliest: (topic: string, partition: number) => Promise<bigint>;

  constructor(brokers: readonly string[], clientId: string, earliest: (topic: string, partition: number) => Promise<bigint>) {
    this.brokers = brokers;
    this.clientId = clientId;
    this.earliest = earliest;
  }

  async restore(store: PartitionStore, req: RestoreRequest): Promise<number> {
    const end = BigInt(req.untilOffset);
    let position = req.fromOffset !== undefined ? BigInt(req.fromOffset) : await this.earliest(req.topic, req.partition);
    if (position >= end) return 0;
    // Its own connections: a restore's large fetches must not queue behind the group's.
    const consumer = new Consumer({ clientId: `${this.clientId}-restore`, bootstrapBrokers: [...this.brokers], groupId: `${this.clientId}-restore-unused`, retries: 0 });
    const fetcher = new PartitionFetcher(consumer, { maxBytesPerPartition: 4 * 1024 * 1024 });
    const key = fetchKey(req.topic, req.partition);
    const watch = new RestoreWatch(req);
    let applied = 0;
    try {
      // The position counts control records (transaction markers) too: a read_committed
      // partition often ends in one, so the end is reached by position, not by a last record.
      while (position < end) {
        const outcome = (await fetcher.fetch([{ topic: req.topic, partition: req.partition, offset: position }], 250)).get(key);
        if (outcome?.kind === 'records' && outcome.next > position) {
          const records: InputRecord[] = outcome.records;
          const next = outcome.next;
          store.write((w) => {
            for (const m of records) applyChangelogRecord(w, m.key?.toString() ?? '', m.value === null ? null : m.value.toString());
            // Same transaction as the records: a crash mid-restore resumes from here, not from zero.
            w.setMeta({ changelogNext: next.toString() });
          });
          applied += records.length;
          position = next;
          watch.progressed();
        } else if (outcome?.kind === 'out-of-range') {
          throw sluiceError('SLUICE_KAFKA', `restoring partition ${req.partition} from ${req.topic}: offset ${position} is out of range; was the changelog truncated?`);
        } else if (outcome?.kind === 'retry') {
          await new Promise((r) => setTimeout(r, 200));
        }
        await watch.check();
      }
      return applied;
    } finally {
      await consumer.close(true).catch(() => undefined);
    }
  }
}
