// Bounded reads of one partition on @platformatic/kafka (kafkajs/changelog-reader.ts is the other
// client's): restores of a partition's LMDB store from its changelog, and the dlq commands' scans
// of the dead-letter topic. Raw fetches need no group, so unlike the kafkajs reader this one just
// reads the partition from an offset to the end.
import { sluiceError } from '../../errors.ts';
import type { RestoreTarget } from '../../model/changelog.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { PartitionFetcher, fetchKey } from './fetch.ts';
import { platformaticKafka } from './loader.ts';
import { RestoreWatch } from '../restore-watch.ts';
import type { ChangelogReader, DeliverRecords, PartitionReadRequest, PartitionReader, RestoreRequest } from '../port.ts';

const { Consumer } = platformaticKafka;

export class PlatformaticChangelogReader implements ChangelogReader, PartitionReader {
  private readonly conn: PlatformaticConnection;
  private readonly earliest: (topic: string, partition: number) => Promise<bigint>;

  constructor(conn: PlatformaticConnection, earliest: (topic: string, partition: number) => Promise<bigint>) {
    this.conn = conn;
    this.earliest = earliest;
  }

  restore(target: RestoreTarget, req: RestoreRequest): Promise<void> {
    return this.read(req, (records, next) => target.apply(records, next));
  }

  async read(req: PartitionReadRequest, deliver: DeliverRecords): Promise<void> {
    const end = BigInt(req.untilOffset);
    let position = req.fromOffset !== undefined ? BigInt(req.fromOffset) : await this.earliest(req.topic, req.partition);
    if (position >= end) return;
    // Its own connections: a restore's large fetches must not queue behind the group's.
    const consumer = new Consumer({ ...connectionOptions(this.conn, 'restore'), groupId: `${this.conn.clientId}-restore-unused`, retries: 0 });
    const fetcher = new PartitionFetcher(consumer, { maxBytesPerPartition: 4 * 1024 * 1024 });
    const key = fetchKey(req.topic, req.partition);
    const watch = new RestoreWatch(req);
    try {
      // The position counts control records (transaction markers) too: a read_committed
      // partition often ends in one, so the end is reached by position, not by a last record.
      while (position < end) {
        const outcome = (await fetcher.fetch([{ topic: req.topic, partition: req.partition, offset: position }], 250)).get(key);
        if (outcome?.kind === 'records' && outcome.next > position) {
          await deliver(outcome.records, outcome.next);
          position = outcome.next;
          watch.progressed();
        } else if (outcome?.kind === 'out-of-range') {
          throw sluiceError('SLUICE_KAFKA', `reading partition ${req.partition} of ${req.topic}: offset ${position} is out of range; was the topic truncated?`);
        } else if (outcome?.kind === 'retry') {
          await new Promise((r) => setTimeout(r, 200));
        }
        await watch.check();
      }
    } finally {
      await consumer.close(true).catch(() => undefined);
    }
  }
}
