// A source lane's partitions of its co-partitioned reference tables: each table topic's partition
// with the lane's number, in an LMDB store beside the lane's, loaded to its end when the lane
// opens and followed until it closes. They move with the partition, as the lane's state does,
// and need no changelog: the table topic is one already.
import type { Logger } from '../log.ts';
import type { TableRows } from '../model/store-ports.ts';
import type { StreamClient } from '../clients/port.ts';
import { TableStore } from '../state/table-store.ts';
import { TableSync } from './table-sync.ts';

export interface CoPartitionedTable {
  name: string;
  topic: string;
  fields: readonly string[];
  signature: string;
}

interface Opened {
  store: TableStore;
  sync: TableSync | undefined;
}

export class LaneTables {
  /** stand-ins handed to the processor before the lane opens; they read the open stores */
  readonly rows = new Map<string, TableRows>();
  private readonly opened = new Map<string, Opened>();
  private readonly tables: readonly CoPartitionedTable[];
  private readonly opts: { client: StreamClient; log: Logger; partition: number; path: (table: string) => string; lockWaitMs: number; onApplied?: (table: string, records: number, skipped: number) => void };

  constructor(tables: readonly CoPartitionedTable[], opts: LaneTables['opts']) {
    this.tables = tables;
    this.opts = opts;
    for (const t of tables) {
      this.rows.set(t.name, {
        get: (key) => {
          const open = this.opened.get(t.name);
          if (open === undefined) throw new Error(`table ${t.name} of partition ${opts.partition} is not open`);
          return open.store.get(key);
        },
      });
    }
  }

  /** Opens each table's store and loads it to the topic partition's end. */
  async open(heartbeat: () => Promise<void>): Promise<void> {
    const { client, log, partition } = this.opts;
    for (const t of this.tables) {
      const store = await TableStore.open({ path: this.opts.path(t.name), fields: t.fields, keyField: undefined, signature: t.signature, lockWaitMs: this.opts.lockWaitMs });
      const entry: Opened = { store, sync: undefined };
      this.opened.set(t.name, entry);
      const onApplied = this.opts.onApplied;
      entry.sync = await TableSync.start({ name: `${t.name} (partition ${partition})`, topic: t.topic, partitions: [partition], store, client, log, heartbeat, onApplied: onApplied && ((n, skipped) => onApplied(t.name, n, skipped)) });
    }
  }

  /** Closes every table, whatever fails on the way: a table left open keeps its lock. */
  async close(): Promise<void> {
    const closing = [...this.opened.values()].map(async ({ store, sync }) => {
      try {
        await sync?.stop();
      } finally {
        await store.close();
      }
    });
    this.opened.clear();
    const failed = (await Promise.allSettled(closing)).find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}
