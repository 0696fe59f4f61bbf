// Opens a worker's whole reference tables before any lane processes: file tables are read into
// LMDB at every start; global topic tables are loaded to their topic's end, then followed.
// Co-partitioned topic tables belong to lanes (consumers/lane-tables.ts): this only checks their
// topics and describes them.
import { threadId } from 'node:worker_threads';
import type { StreamClient } from '../clients/port.ts';
import type { SluiceConfig } from '../config/schema.ts';
import type { CoPartitionedTable } from '../consumers/lane-tables.ts';
import { TableSync } from '../consumers/table-sync.ts';
import { sluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TableRows } from '../model/store-ports.ts';
import { workerTablePath } from '../model/naming.ts';
import { tableFields } from '../processors/enrich.ts';
import type { PipelineSpec } from '../processors/types.ts';
import { loadTableFile } from '../state/table-file.ts';
import { TableStore } from '../state/table-store.ts';

export interface WorkerTables {
  /** the worker's whole tables by name */
  rows: ReadonlyMap<string, TableRows>;
  /** the tables each source lane keeps its partition of */
  coPartitioned: CoPartitionedTable[];
  close(): Promise<void>;
}

export interface WorkerTablesContext {
  client: StreamClient;
  /** the input topic's partition count, which a co-partitioned table's topic must have */
  partitions: number;
  stores: string;
  lockWaitMs: number;
  log: Logger;
  /** hears of records applied to a table: metrics */
  onApplied?: (table: string, records: number, skipped: number) => void;
}

async function topicPartitions(client: StreamClient, table: string, topic: string): Promise<number> {
  // Listed, not asked for by metadata: a broker that auto-creates topics must not create it.
  if (!(await client.topics.listTopics()).includes(topic)) throw sluiceError('SLUICE_TABLE_UNREADABLE', `table ${table}: topic "${topic}" does not exist (sluice never creates a table's topic)`);
  const count = (await client.topics.partitionCounts([topic])).get(topic) ?? 0;
  if (count === 0) throw sluiceError('SLUICE_KAFKA', `table ${table}: topic "${topic}" has no partition metadata yet`);
  return count;
}

/** A table's stored-row signature: change the source or the fields kept, and it is rebuilt. */
export function tableSignature(source: unknown, fields: readonly string[]): string {
  return JSON.stringify({ source, fields });
}

export async function openWorkerTables(config: SluiceConfig, spec: PipelineSpec, ctx: WorkerTablesContext): Promise<WorkerTables> {
  const { log } = ctx;
  const fields = tableFields(spec.enrich ?? []);
  const opened = new Map<string, TableStore>();
  const syncs: TableSync[] = [];
  const coPartitioned: CoPartitionedTable[] = [];
  const close = async () => {
    for (const sync of syncs.splice(0)) await sync.stop();
    for (const store of opened.values()) await store.close().catch((err: Error) => log.warn(`closing table store ${store.path}: ${err.message}`));
  };
  try {
    for (const [name, table] of Object.entries(config.tables)) {
      const source = table.source;
      const kept = fields.get(name);
      // A table no lookup uses costs nothing to skip.
      if (kept === undefined) continue;
      const signature = tableSignature(source, kept);
      if ('topic' in source) {
        const count = await topicPartitions(ctx.client, name, source.topic);
        if (!table.global) {
          if (count !== ctx.partitions) {
            throw sluiceError('SLUICE_TABLE_UNREADABLE', `table ${name}: topic "${source.topic}" has ${count} partitions and the input ${ctx.partitions}; a co-partitioned table needs as many (or set global: true)`);
          }
          coPartitioned.push({ name, topic: source.topic, fields: kept, signature });
          continue;
        }
        const store = await TableStore.open({ path: workerTablePath(ctx.stores, name, threadId), fields: kept, keyField: undefined, signature, lockWaitMs: ctx.lockWaitMs });
        opened.set(name, store);
        const onApplied = ctx.onApplied;
        syncs.push(await TableSync.start({ name, topic: source.topic, partitions: Array.from({ length: count }, (_, p) => p), store, client: ctx.client, log, onApplied: onApplied && ((n, skipped) => onApplied(name, n, skipped)) }));
        continue;
      }
      const store = await TableStore.open({ path: workerTablePath(ctx.stores, name, threadId), fields: kept, keyField: source.key, signature, lockWaitMs: ctx.lockWaitMs });
      opened.set(name, store);
      const started = performance.now();
      const read = await loadTableFile(store, source.file, source.format);
      ctx.onApplied?.(name, read, store.badRows);
      const bad = store.badRows > 0 ? `; ${store.badRows} rows skipped, the last because ${store.lastBadRow}` : '';
      log[store.badRows > 0 ? 'warn' : 'info'](`table ${name}: ${store.size} rows from ${source.file} (${read} read) in ${Math.round(performance.now() - started)} ms${bad}`);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { rows: opened, coPartitioned, close };
}
