// What a PartitionStore write transaction may do, and the meta it keeps: the interface the local
// commit (store-transaction.ts) and the changelog's restore (changelog-codec.ts) both write through.
import type { WindowState } from '../model/window-state.ts';
import type { StoredRetained } from './retained-store.ts';

export interface StoreMeta {
  /** next input offset to process; undefined when the partition was never committed */
  inputOffset: string | undefined;
  /** changelog offset from which a replay must start to bring this store up to date */
  changelogNext: string | undefined;
  /** largest event time that reached the stream-time step; -Infinity before the first event */
  streamTime: number;
  /**
   * wall clock when the store last matched the changelog's end (a local commit, or the end of a
   * restore): tombstones written after it are still on the changelog if it is recent enough.
   * Undefined (never stamped, or a restore cut short) means the gap cannot be trusted.
   */
  syncedAtMs: number | undefined;
  /**
   * the id of the changelog history this state came from, carried by every changelog meta
   * record; a recreated changelog starts a new one, so stale local state is never spliced onto it
   */
  history: string | undefined;
}

// The optional arguments carry what the caller already knows, which saves a read per key on the
// commit path (a third of its time in bench/in-process/hot-path.ts); the restore path leaves them out.
export interface StoreWriter {
  /** `previous`: the stored t0 this replaces, null when there is none (saves a read), undefined when unknown */
  putDedupe(id: string, t0: number, previous?: number | null): void;
  deleteDedupe(id: string): void;
  /**
   * `isNew`: whether the store lacks the key, undefined when unknown; `previousCloseAt`: where the
   * close index has a stored session whose close time moved, undefined when unknown or unmoved
   */
  putWindow(key: string, state: WindowState, isNew?: boolean, previousCloseAt?: number): void;
  deleteWindow(key: string): void;
  /** a closed window's final kept for queries, under its window key */
  putRetained(key: string, value: StoredRetained): void;
  deleteRetained(key: string): void;
  setWatermark(source: number, watermark: number): void;
  /**
   * Windows of this definition starting at or before `start` are closed for good: an event for
   * one of them is late even if a longer grace configured since would keep it open, since its
   * final was written already and a second one would count its window twice.
   */
  setClosedThrough(window: string, start: number): void;
  setMeta(meta: Partial<StoreMeta>): void;
}
