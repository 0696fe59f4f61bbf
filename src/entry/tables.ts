// Opens a worker's whole reference tables before any lane processes: file tables are read into
// LMDB at every start. (Co-partitioned topic tables belong to lanes: see lane-factory.ts.)
import { threadId } from 'node:worker_threads';
import type { SluiceConfig } from '../config/schema.ts';
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
  close(): Promise<void>;
}

/** A table's stored-row signature: change the source or the fields kept, and it is rebuilt. */
export function tableSignature(source: unknown, fields: readonly string[]): string {
  return JSON.stringify({ source, fields });
}

export async function openWorkerTables(config: SluiceConfig, spec: PipelineSpec, stores: string, lockWaitMs: number, log: Logger): Promise<WorkerTables> {
  const fields = tableFields(spec.enrich ?? []);
  const opened = new Map<string, TableStore>();
  const close = async () => {
    for (const store of opened.values()) await store.close().catch((err: Error) => log.warn(`closing table store ${store.path}: ${err.message}`));
  };
  try {
    for (const [name, table] of Object.entries(config.tables)) {
      const source = table.source;
      const kept = fields.get(name);
      // A table no lookup uses costs nothing to skip.
      if (!('file' in source) || kept === undefined) continue;
      const store = await TableStore.open({ path: workerTablePath(stores, name, threadId), fields: kept, keyField: source.key, signature: tableSignature(source, kept), lockWaitMs });
      opened.set(name, store);
      const started = performance.now();
      const read = await loadTableFile(store, source.file, source.format);
      const bad = store.badRows > 0 ? `; ${store.badRows} rows skipped, the last because ${store.lastBadRow}` : '';
      log[store.badRows > 0 ? 'warn' : 'info'](`table ${name}: ${store.size} rows from ${source.file} (${read} read) in ${Math.round(performance.now() - started)} ms${bad}`);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { rows: opened, close };
}
