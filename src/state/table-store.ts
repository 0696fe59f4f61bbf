// A reference table in its own LMDB environment: rows by key, each projected to the fields that
// enrichment copies, so the table costs disk and page cache, not heap, and a lookup decodes only
// those fields. Topic tables also keep, per source partition, the offset their rows reach, in the
// same transaction as the rows, so that a restart goes on from there instead of reloading.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import type { ChangelogEntry } from '../model/changelog.ts';
import type { TableRows } from '../model/store-ports.ts';
import { tableKey } from '../model/table-key.ts';
import { acquireStoreLock } from './store-lock.ts';
import type { StoreLock } from './store-lock.ts';

export interface TableStoreOptions {
  path: string;
  /** the fields kept of each row, in this order */
  fields: readonly string[];
  /** take the row key from this field of the row; undefined: the record key */
  keyField: string | undefined;
  /**
   * what the stored rows were built from (source and fields): a store built from anything else
   * is emptied and loaded again
   */
  signature: string;
  lockWaitMs: number;
}

const SIGNATURE_KEY = 'signature';
const POSITION_PREFIX = 'next:';
const SYNCED_KEY = 'syncedAtMs';
/** LMDB refuses keys over 1978 bytes; such a row is skipped, never a failed transaction. */
const MAX_KEY_BYTES = 1978;

/** A row as the topic or the file holds it, or why it is unusable. */
export type ParsedRow = { key: string; row: unknown[] } | { error: string };

export class TableStore implements TableRows {
  readonly path: string;
  private readonly env: RootDatabase;
  private readonly rows: Database<unknown[], string>;
  private readonly meta: Database<unknown, string>;
  private readonly fields: readonly string[];
  private readonly keyField: string | undefined;
  private readonly lock: StoreLock;
  /** rows skipped because they were not JSON objects or had no usable key */
  badRows = 0;
  lastBadRow: string | undefined;

  private constructor(opts: TableStoreOptions, lock: StoreLock) {
    this.path = opts.path;
    this.fields = opts.fields;
    this.keyField = opts.keyField;
    this.lock = lock;
    mkdirSync(dirname(opts.path), { recursive: true });
    this.env = open({ path: opts.path, maxDbs: 4, compression: false });
    this.rows = this.env.openDB({ name: 'rows' });
    this.meta = this.env.openDB({ name: 'meta' });
    if (this.meta.get(SIGNATURE_KEY) !== opts.signature) {
      this.env.transactionSync(() => {
        this.rows.clearSync();
        this.meta.clearSync();
        this.meta.putSync(SIGNATURE_KEY, opts.signature);
      });
    }
  }

  /** One writer per table store, as per partition store: the lock says who. */
  static async open(opts: TableStoreOptions): Promise<TableStore> {
    const lock = await acquireStoreLock(opts.path, { waitMs: opts.lockWaitMs });
    try {
      return new TableStore(opts, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  get(key: string): readonly unknown[] | undefined {
    return this.rows.get(key);
  }

  get size(): number {
    return this.rows.getCount();
  }

  /** where the rows of a source partition reach: the next offset to read, if any was read */
  position(partition: number): string | undefined {
    return this.meta.get(POSITION_PREFIX + partition) as string | undefined;
  }

  /**
   * Wall clock of the last applied batch: rows older than the topic's delete.retention.ms may
   * have missed tombstones that compaction has removed since.
   */
  syncedAtMs(): number | undefined {
    return this.meta.get(SYNCED_KEY) as number | undefined;
  }

  /** A topic record's row, projected; a tombstone (null value) comes back as a row of null. */
  parse(key: Buffer | null, value: Buffer | null): ParsedRow | { key: string; row: null } {
    if (value === null) {
      // A tombstone carries no row to read a key field from: it deletes by record key.
      const k = key?.toString('utf8');
      if (k !== undefined && Buffer.byteLength(k) > MAX_KEY_BYTES) return { error: `key of ${Buffer.byteLength(k)} bytes, longer than LMDB's ${MAX_KEY_BYTES}` };
      return k === undefined ? { error: 'tombstone without a key' } : { key: k, row: null };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(value.toString('utf8'));
    } catch (err) {
      return { error: `not JSON: ${(err as Error).message}` };
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { error: 'not a JSON object' };
    return this.project(doc as Record<string, unknown>, key?.toString('utf8'));
  }

  /** The stored form of a row: its key (`keyField`'s value, else `recordKey`) and its kept fields. */
  project(record: Record<string, unknown>, recordKey: string | undefined): ParsedRow {
    const rowKey = this.keyField === undefined ? recordKey : Object.hasOwn(record, this.keyField) ? tableKey(record[this.keyField]) : undefined;
    if (rowKey === undefined) return { error: this.keyField === undefined ? 'record has no key' : `field "${this.keyField}" is missing or not a string, number or boolean` };
    if (Buffer.byteLength(rowKey) > MAX_KEY_BYTES) return { error: `key of ${Buffer.byteLength(rowKey)} bytes, longer than LMDB's ${MAX_KEY_BYTES}` };
    return { key: rowKey, row: this.fields.map((f) => (Object.hasOwn(record, f) ? record[f] : undefined)) };
  }

  /** Applies a batch of a topic partition's records in one transaction with its new position. */
  applyRecords(partition: number, records: readonly ChangelogEntry[], next: bigint | string): void {
    this.env.transactionSync(() => {
      for (const r of records) {
        const parsed = this.parse(r.key, r.value);
        if ('error' in parsed) {
          this.noteBad(parsed.error);
        } else if (parsed.row === null) {
          this.rows.removeSync(parsed.key);
        } else {
          this.rows.putSync(parsed.key, parsed.row);
        }
      }
      this.meta.putSync(POSITION_PREFIX + partition, String(next));
      this.meta.putSync(SYNCED_KEY, Date.now());
    });
  }

  /** Empties the table and forgets every position, so that it is read whole again. */
  clear(): void {
    this.env.transactionSync(() => {
      this.rows.clearSync();
      const signature = this.meta.get(SIGNATURE_KEY);
      this.meta.clearSync();
      this.meta.putSync(SIGNATURE_KEY, signature);
    });
  }

  /** Adds rows read from a file, in one transaction. */
  putRows(rows: readonly ParsedRow[]): void {
    this.env.transactionSync(() => {
      for (const parsed of rows) {
        if ('error' in parsed) this.noteBad(parsed.error);
        else this.rows.putSync(parsed.key, parsed.row);
      }
    });
  }

  private noteBad(error: string): void {
    this.badRows++;
    this.lastBadRow = error;
  }

  async close(): Promise<void> {
    try {
      await this.env.close();
    } finally {
      await this.lock.release();
    }
  }
}
