// The raw LMDB layer: one environment per input partition, owned by exactly one lane, so no two
// lanes ever contend for a write lock. State lives here, memory-mapped, not on the V8 heap.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import type { RetainedFinal, WindowState } from '../model/window-state.ts';
import { RetainedStore } from './retained-store.ts';
import type { StoreMeta, StoreWriter } from './store-writer.ts';
import { BOOT_ID, clearUnsyncedMark, takeUnsyncedMark } from './unsynced-mark.ts';

/**
 * A dedupe entry as stored: the first sighting and when it may be forgotten, fixed at the
 * sighting for the same reason as WindowState.c. A bare number is an entry from before 0.2.
 */
type DedupeEntry = [t0: number, forgetAt: number] | number;

/** A local commit found the store moved on by another writer: this lane no longer owns it. */
export class StaleCommitError extends Error {
  override name = 'StaleCommitError';
}

type IndexKey = [number, string];

/** What lmdb's getStats reports of one database (mdb_stat). */
interface LmdbStats {
  pageSize: number;
  entryCount: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
}

export interface StoreStats {
  stores: { store: string; entries: number; bytes: number }[];
  fileBytes: number;
}

/** Computes when an entry stops mattering, so the store can keep time-ordered indexes of its own. */
export interface StoreTimes {
  windowCloseAt(state: WindowState): number;
  dedupeForgetAt(t0: number): number;
}

const META_KEYS = ['inputOffset', 'changelogNext', 'streamTime', 'syncedAtMs', 'history'] as const;
const WATERMARK_PREFIX = 'wm:';
const CLOSED_PREFIX = 'closed:';
/** the dedupe retention the forget index was built with */
const RETENTION_KEY = 'dedupeRetentionMs';

export class PartitionStore {
  readonly path: string;
  private readonly env: RootDatabase;
  private readonly dedupeDb: Database<DedupeEntry, string>;
  private readonly windowDb: Database<WindowState, string>;
  private readonly closeIndex: Database<true, IndexKey>;
  private readonly forgetIndex: Database<true, IndexKey>;
  private readonly metaDb: Database<unknown, string>;
  private readonly retained: RetainedStore;
  private readonly times: StoreTimes;
  private readonly unsynced: boolean;
  /** the store on disk was written unsynced before the machine's last boot, and was deleted */
  readonly discardedAfterReboot: boolean;

  /** `bootId`: the running OS boot's id (tests pass their own); null commits with fsync */
  constructor(path: string, times: StoreTimes, bootId: string | null = BOOT_ID) {
    this.path = path;
    this.times = times;
    mkdirSync(dirname(path), { recursive: true });
    this.discardedAfterReboot = takeUnsyncedMark(path, bootId);
    this.unsynced = bootId !== null;
    // Values stay msgpackr records, each with its record definition inline, although plain maps
    // (useRecords: false) allocate 2.5 kB less per event on the hot path at caught-up sizes: every
    // released sluice decodes a map as a JS Map, so a rollback onto a store written with maps
    // would read every window wrong. Changing it needs a store format mark first.
    this.env = open({ path, maxDbs: 16, compression: false, noSync: this.unsynced });
    this.dedupeDb = this.env.openDB({ name: 'dedupe' });
    this.windowDb = this.env.openDB({ name: 'windows' });
    this.closeIndex = this.env.openDB({ name: 'window-close-index' });
    this.forgetIndex = this.env.openDB({ name: 'dedupe-forget-index' });
    this.metaDb = this.env.openDB({ name: 'meta' });
    this.retained = new RetainedStore(this.env);
  }

  getDedupe(id: string): number | undefined {
    const entry = this.dedupeDb.get(id);
    return typeof entry === 'object' ? entry[0] : entry;
  }

  private forgetAt(entry: DedupeEntry): number {
    return typeof entry === 'object' ? entry[1] : this.times.dedupeForgetAt(entry);
  }

  /** Where a window sits in the close index: its own close time, else the config's. */
  private closeAt(state: WindowState): number {
    return state.c ?? this.times.windowCloseAt(state);
  }

  getWindow(key: string): WindowState | undefined {
    return this.windowDb.get(key);
  }

  /** The latest start of a window definition's windows this store has closed (see StoreWriter). */
  closedThrough(window: string): number {
    const v = this.metaDb.get(`${CLOSED_PREFIX}${window}`);
    return typeof v === 'number' ? v : Number.NEGATIVE_INFINITY;
  }

  /** A merge lane's per-source watermarks (source partition -> watermark). */
  watermarks(): Map<number, number> {
    const out = new Map<number, number>();
    for (const { key, value } of this.metaDb.getRange({ start: WATERMARK_PREFIX, end: `${WATERMARK_PREFIX}\uffff` })) {
      out.set(Number(String(key).slice(WATERMARK_PREFIX.length)), value as number);
    }
    return out;
  }

  meta(): StoreMeta {
    const streamTime = this.metaDb.get('streamTime');
    return {
      inputOffset: this.metaDb.get('inputOffset') as string | undefined,
      changelogNext: this.metaDb.get('changelogNext') as string | undefined,
      streamTime: typeof streamTime === 'number' ? streamTime : Number.NEGATIVE_INFINITY,
      syncedAtMs: this.metaDb.get('syncedAtMs') as number | undefined,
      history: this.metaDb.get('history') as string | undefined,
    };
  }

  /** Windows whose key starts with `prefix` (session windows of one group, and longer keys). */
  *windowsWithPrefix(prefix: string): Generator<[string, WindowState]> {
    // Keys are ordered by their UTF-8 bytes; what follows a group prefix is ASCII.
    for (const { key, value } of this.windowDb.getRange({ start: prefix, end: `${prefix}\uffff` })) yield [key, value];
  }

  /** Closed windows' finals kept for queries (see RetainedStore.withPrefix), expired ones included. */
  retainedWithPrefix(prefix: string): Generator<[string, RetainedFinal]> {
    return this.retained.withPrefix(prefix);
  }

  /** Keys of retained finals kept until `now` or earlier, soonest first. */
  retainedExpiringBy(now: number, limit: number): Generator<string> {
    return this.retained.expiringBy(now, limit);
  }

  /** Windows whose close time is at or before `time` (and after `after`, if given), oldest first. */
  *windowsClosingBy(time: number, limit: number, after?: number): Generator<string> {
    const start: IndexKey | undefined = after === undefined ? undefined : [after, '\uffff'];
    for (const key of this.closeIndex.getKeys({ start, end: [time, '\uffff'], limit })) yield (key as IndexKey)[1];
  }

  /** Dedupe ids that may be forgotten once stream time reaches `time`. */
  *idsForgettableBy(time: number, limit: number): Generator<string> {
    for (const key of this.forgetIndex.getKeys({ end: [time, '\uffff'], limit })) yield (key as IndexKey)[1];
  }

  countDedupe(): number {
    return this.dedupeDb.getCount();
  }

  countWindows(): number {
    return this.windowDb.getCount();
  }

  /**
   * The windows store's entries from its B-tree header: what countWindows counts by walking a
   * cursor over every entry (26 ms per million windows on the lane's event loop), for every scrape.
   */
  windowCount(): number {
    return (this.windowDb.getStats() as LmdbStats).entryCount;
  }

  /**
   * Entries and bytes of pages per store (LMDB database), and the pages in use in the whole file
   * (its high-water mark, free pages LMDB reuses included): what the state metrics report. Reads
   * B-tree headers only, so it is cheap enough for every scrape.
   */
  stats(): StoreStats {
    const dbs = [['dedupe', this.dedupeDb], ['windows', this.windowDb], ['window-close-index', this.closeIndex], ['dedupe-forget-index', this.forgetIndex], ['meta', this.metaDb], ['retained', this.retained.db], ['retained-expiry-index', this.retained.expiryIndex]] as const;
    const stores = dbs.map(([store, db]) => {
      const s = db.getStats() as LmdbStats;
      return { store, entries: s.entryCount, bytes: s.pageSize * (s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages) };
    });
    const env = this.env.getStats() as LmdbStats & { lastPageNumber: number };
    return { stores, fileBytes: env.pageSize * (env.lastPageNumber + 1) };
  }

  /**
   * Runs `fn` inside one synchronous LMDB write transaction: either all of its writes land or none
   * do, which is what lets a crash leave the store at a consistent (possibly older) point.
   */
  write(fn: (w: StoreWriter) => void): void {
    this.env.transactionSync(() => fn(this.writer));
  }

  /**
   * {@link write}, as a compare-and-set on the changelog position: the writes land only if the
   * store is still where its writer last saw it. A lane's store has one owner at a time (see
   * store-lock.ts); this is the second line, so that an owner that lost the partition can never
   * roll the new owner's state back even if the lock were bypassed.
   */
  writeIfAt(changelogNext: string | undefined, fn: (w: StoreWriter) => void): void {
    this.env.transactionSync(() => {
      const current = this.metaDb.get('changelogNext') as string | undefined;
      if (current !== changelogNext) throw new StaleCommitError(`${this.path}: store is at changelog offset ${current ?? 'none'}, this writer expected ${changelogNext ?? 'none'}`);
      fn(this.writer);
    });
  }

  private readonly writer: StoreWriter = {
    putDedupe: (id, t0, previous) => {
      // An id sighted again after its ttl: its old index entry is found from what is stored.
      const old = previous === null ? undefined : this.dedupeDb.get(id);
      if (old !== undefined) this.forgetIndex.removeSync([this.forgetAt(old), id]);
      const forgetAt = this.times.dedupeForgetAt(t0);
      this.dedupeDb.putSync(id, [t0, forgetAt]);
      this.forgetIndex.putSync([forgetAt, id], true);
    },
    deleteDedupe: (id) => {
      const old = this.dedupeDb.get(id);
      if (old === undefined) return;
      this.forgetIndex.removeSync([this.forgetAt(old), id]);
      this.dedupeDb.removeSync(id);
    },
    putWindow: (key, state, isNew, previousCloseAt) => {
      // A fixed window's close time never changes, so only a new window needs an index entry; a
      // value without one (a changelog record from before 0.2) keeps the stored window's. A
      // session's moves as it grows, and its entry with it.
      const old = isNew === undefined ? this.windowDb.get(key) : undefined;
      if (isNew ?? old === undefined) {
        state.c ??= this.times.windowCloseAt(state);
        this.closeIndex.putSync([state.c, key], true);
      } else {
        state.c ??= old?.c;
        const indexed = previousCloseAt ?? (old === undefined ? undefined : this.closeAt(old));
        if (indexed !== undefined && state.c !== undefined && indexed !== state.c) {
          this.closeIndex.removeSync([indexed, key]);
          this.closeIndex.putSync([state.c, key], true);
        }
      }
      this.windowDb.putSync(key, state);
    },
    deleteWindow: (key) => {
      const old = this.windowDb.get(key);
      if (old === undefined) return;
      this.closeIndex.removeSync([this.closeAt(old), key]);
      this.windowDb.removeSync(key);
    },
    putRetained: (key, value) => this.retained.put(key, value),
    deleteRetained: (key) => this.retained.delete(key),
    setWatermark: (source, watermark) => {
      this.metaDb.putSync(`${WATERMARK_PREFIX}${source}`, watermark);
    },
    setClosedThrough: (window, start) => {
      this.metaDb.putSync(`${CLOSED_PREFIX}${window}`, start);
    },
    setMeta: (meta) => {
      for (const k of META_KEYS) {
        const v = meta[k];
        if (v === undefined) continue;
        this.metaDb.putSync(k, v);
      }
    },
  };

  /**
   * Re-keys the forget index when the dedupe retention (ttl plus the longest window and grace)
   * changed since the ids were stored: the dedupe check and the forgetting must use one
   * retention, or a repeat would count or not depending on where a batch ended. One pass over
   * the ids, at open. Returns how many were re-keyed.
   */
  async alignForgetTimes(): Promise<number> {
    const retention = this.times.dedupeForgetAt(0);
    if (this.metaDb.get(RETENTION_KEY) === retention) return 0;
    // One LMDB transaction per slice, yielding between them: a large store takes seconds, during
    // which the worker's event loop must keep the group's heartbeats going. A crash part-way
    // leaves the mark unset, so the next open starts over.
    // The mark goes with the index: a crash part-way, then a config rolled back to the old
    // retention, must still find the index unbuilt.
    this.env.transactionSync(() => {
      this.forgetIndex.clearSync();
      this.metaDb.removeSync(RETENTION_KEY);
    });
    let n = 0;
    for (let after: string | undefined; ; ) {
      const slice = [...this.dedupeDb.getRange({ start: after, limit: 10_000 })].filter((e) => e.key !== after);
      if (slice.length === 0) break;
      this.env.transactionSync(() => {
        for (const { key, value } of slice) {
          const t0 = typeof value === 'object' ? value[0] : value;
          const forgetAt = this.times.dedupeForgetAt(t0);
          this.dedupeDb.putSync(key, [t0, forgetAt]);
          this.forgetIndex.putSync([forgetAt, key], true);
        }
      });
      n += slice.length;
      after = slice[slice.length - 1]!.key;
      await new Promise((r) => setImmediate(r));
    }
    this.env.transactionSync(() => this.metaDb.putSync(RETENTION_KEY, retention));
    return n;
  }

  /** Drops every entry: used before a full restore from the changelog. */
  wipe(): void {
    this.env.transactionSync(() => {
      this.dedupeDb.clearSync();
      this.windowDb.clearSync();
      this.closeIndex.clearSync();
      this.forgetIndex.clearSync();
      this.metaDb.clearSync();
      this.retained.clear();
      // An empty store's forget index is aligned with the retention of everything put into it now.
      this.metaDb.putSync(RETENTION_KEY, this.times.dedupeForgetAt(0));
    });
  }

  /**
   * A clean close syncs the file and drops the marker, so a reboot after a clean shutdown keeps
   * the store; a crash before the marker is gone only costs a restore.
   */
  async close(): Promise<void> {
    await this.env.close();
    // The store has one writer (store-lock.ts), so no other thread can be writing it unsynced now.
    if (this.unsynced) clearUnsyncedMark(this.path);
  }
}
