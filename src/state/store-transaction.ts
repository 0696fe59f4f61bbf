// A per-partition store transaction (as in Quix Streams): the batch reads through it and writes
// into it, nothing reaches LMDB until the Kafka transaction holding the batch's effects commits,
// and the same write set becomes the batch's changelog records. Dropping it is the abort path.
// Its size is bounded by the batch size, not by the state size.
import type { DedupeStore } from '../model/store-ports.ts';
import type { RetainedFinal, WindowState } from '../model/window-state.ts';
import { changelogRecordsFor } from './changelog-codec.ts';
import type { ChangelogRecord } from './changelog-codec.ts';
import type { PartitionStore, StoreTimes } from './partition-store.ts';
import { storedRetained } from './retained-store.ts';
import type { StoredRetained } from './retained-store.ts';

/** Whether `key` is a session of the group `prefix` names, not of a longer group sharing it. */
function isSessionKey(prefix: string, key: string): boolean {
  // What follows the prefix is a start and "]": a number, never a comma.
  return key.indexOf(',', prefix.length) === -1;
}

export class StoreTransaction implements DedupeStore {
  private readonly store: PartitionStore;
  private readonly times: StoreTimes;
  /** id -> t0, or null for a delete */
  private readonly dedupeWrites = new Map<string, number | null>();
  /** window key -> state, or null for a delete */
  private readonly windowWrites = new Map<string, WindowState | null>();
  /**
   * ids this transaction puts over a t0 the store already holds (an id sighted again after its
   * ttl), with that t0, or undefined when it is not known; every other put is a new id
   */
  private readonly dedupeReplaced = new Map<string, number | undefined>();
  /** windows created by this transaction, which the store's close index does not know yet */
  private readonly createdWindows = new Map<string, number>();
  /** window key -> a closed window's final retained for queries, or null for an expired one dropped */
  private readonly retainedWrites = new Map<string, StoredRetained | null>();
  /** a merge lane's per-source watermarks changed by this transaction */
  private readonly watermarkWrites = new Map<number, number>();
  /** window geometry mark -> the latest start this transaction closed */
  private readonly closedWrites = new Map<string, number>();
  /** sessions created by this transaction, by group key prefix: the store's range scan cannot see them */
  private readonly createdSessions = new Map<string, Set<string>>();
  /** committed sessions whose close time this transaction moved, with the close time the store indexes */
  private readonly movedCloses = new Map<string, number>();
  /** windows this transaction changed, in first-touch order (emit: update reports them) */
  readonly touchedWindows = new Set<string>();

  constructor(store: PartitionStore, times: StoreTimes) {
    this.store = store;
    this.times = times;
  }

  get(id: string): number | undefined {
    const v = this.dedupeWrites.get(id);
    if (v !== undefined) return v ?? undefined;
    return this.store.getDedupe(id);
  }

  put(id: string, t0: number, previous: number | undefined): void {
    // `previous` came from the overlay when this transaction wrote the id before; the store's
    // own value is unknown then.
    if (this.dedupeWrites.has(id)) {
      if (!this.dedupeReplaced.has(id)) this.dedupeReplaced.set(id, undefined);
    } else if (previous !== undefined) {
      this.dedupeReplaced.set(id, previous);
    }
    this.dedupeWrites.set(id, t0);
  }

  forget(id: string): void {
    this.dedupeWrites.set(id, null);
  }

  getWindow(key: string): WindowState | undefined {
    const v = this.windowWrites.get(key);
    if (v !== undefined) return v ?? undefined;
    return this.store.getWindow(key);
  }

  /** Records that `state` (possibly mutated in place) is the window's new value. */
  putWindow(key: string, state: WindowState, created: boolean): void {
    // A replacement value (a merge lane's newer partial) keeps the close time of the one it replaces.
    if (!created && state.c === undefined) state.c = this.getWindow(key)?.c;
    this.windowWrites.set(key, state);
    this.touchedWindows.add(key);
    if (created) this.createdWindows.set(key, (state.c ??= this.times.windowCloseAt(state)));
  }

  sessionsOf(prefix: string): [string, WindowState][] {
    const found = new Map<string, WindowState>();
    for (const [key, committed] of this.store.windowsWithPrefix(prefix)) {
      const pending = this.windowWrites.get(key);
      if (pending !== null && isSessionKey(prefix, key)) found.set(key, pending ?? committed);
    }
    for (const key of this.createdSessions.get(prefix) ?? []) {
      const pending = this.windowWrites.get(key);
      if (pending) found.set(key, pending);
    }
    return [...found];
  }

  putSession(key: string, state: WindowState, previousCloseAt: number | undefined): void {
    const closeAt = state.c!;
    let from = previousCloseAt;
    if (from === undefined) {
      // Another state under this key (a committed session merged away earlier in this batch, or
      // a fixed window's before the config made it a session): its index entry moves.
      const existing = this.windowWrites.get(key) === null ? this.store.getWindow(key) : this.getWindow(key);
      if (existing !== undefined) from = existing.c ?? this.times.windowCloseAt(existing);
    }
    this.windowWrites.set(key, state);
    this.touchedWindows.add(key);
    if (from === undefined) {
      this.createdWindows.set(key, closeAt);
      const prefix = key.slice(0, key.lastIndexOf(',') + 1);
      let keys = this.createdSessions.get(prefix);
      if (keys === undefined) this.createdSessions.set(prefix, (keys = new Set()));
      keys.add(key);
    } else if (this.createdWindows.has(key)) {
      this.createdWindows.set(key, closeAt);
    } else if (!this.movedCloses.has(key) && from !== closeAt) {
      // The first move in this batch knows where the store's close index has it.
      this.movedCloses.set(key, from);
    }
  }

  deleteWindow(key: string): void {
    if (this.createdWindows.delete(key) && this.store.getWindow(key) === undefined) {
      // Born and closed in the same batch: neither LMDB nor the changelog ever needs to know it.
      this.windowWrites.delete(key);
    } else {
      this.windowWrites.set(key, null);
    }
    this.touchedWindows.delete(key);
  }

  /** Keys of windows (committed or created here) whose close time is at or before `streamTime`, and after `after` if given. */
  windowsClosingBy(streamTime: number, after?: number): string[] {
    const due: string[] = [];
    for (const key of this.store.windowsClosingBy(streamTime, Number.MAX_SAFE_INTEGER, after)) {
      const pending = this.windowWrites.get(key);
      if (pending === null || (pending !== undefined && this.movedCloses.has(key) && pending.c! > streamTime)) continue;
      due.push(key);
    }
    const from = after ?? Number.NEGATIVE_INFINITY;
    for (const [key, closeAt] of this.createdWindows) if (closeAt <= streamTime && closeAt > from) due.push(key);
    // Sessions that grew later (or, after a grace change, earlier) than the store's index says.
    for (const [key, indexed] of this.movedCloses) {
      const pending = this.windowWrites.get(key);
      if (pending && pending.c! <= streamTime && pending.c! > from && indexed > streamTime) due.push(key);
    }
    return due;
  }

  /** Dedupe ids that may be forgotten at `streamTime`, at most `limit` (forgetting is lazy). */
  idsForgettableBy(streamTime: number, limit: number): string[] {
    const ids: string[] = [];
    for (const id of this.store.idsForgettableBy(streamTime, limit)) {
      const pending = this.dedupeWrites.get(id);
      // Re-sighted in this batch after its ttl: it has a new t0 and must stay.
      if (pending === undefined) ids.push(id);
    }
    return ids;
  }

  /** Keeps a closed window's final for queries (http.queryRetention), apart from the open windows. */
  retainFinal(key: string, final: RetainedFinal): void {
    this.retainedWrites.set(key, storedRetained(final));
  }

  /** Keys of committed retained finals kept until `now` or earlier, at most `limit`, not written by this transaction. */
  retainedExpiringBy(now: number, limit: number): string[] {
    const keys: string[] = [];
    // Retained again in this batch: it has a new `until`.
    for (const key of this.store.retainedExpiringBy(now, limit)) if (!this.retainedWrites.has(key)) keys.push(key);
    return keys;
  }

  dropRetained(key: string): void {
    this.retainedWrites.set(key, null);
  }

  setWatermark(source: number, watermark: number): void {
    this.watermarkWrites.set(source, watermark);
  }

  closedThrough(mark: string): number {
    return this.closedWrites.get(mark) ?? this.store.closedThrough(mark);
  }

  /** Windows of one geometry close in start order, so the mark only moves forward. */
  markClosed(mark: string, start: number): void {
    if (start > this.closedThrough(mark)) this.closedWrites.set(mark, start);
  }

  /** Watermarks written by this transaction, over those of the store. */
  watermarks(committed: ReadonlyMap<number, number>): Map<number, number> {
    const all = new Map(committed);
    for (const [source, wm] of this.watermarkWrites) all.set(source, wm);
    return all;
  }

  get size(): number {
    return this.dedupeWrites.size + this.windowWrites.size + this.retainedWrites.size;
  }

  /** The changelog records for this transaction's writes, one per changed key. */
  changelogRecords(): ChangelogRecord[] {
    return changelogRecordsFor(this.dedupeWrites, this.windowWrites, this.watermarkWrites, this.closedWrites, this.retainedWrites);
  }

  /**
   * Makes the writes durable in LMDB together with the input offset they bring the store to:
   * the last step of the checkpoint, run only after Kafka committed the same batch. `from` is the
   * changelog position the store was at when this lane last wrote it; a store found elsewhere
   * was moved on by a newer owner, and the write is refused (StaleCommitError).
   */
  commitLocal(from: string | undefined, meta: { inputOffset: string; changelogNext: string | undefined; streamTime: number }): void {
    this.store.writeIfAt(from, (w) => {
      for (const [id, t0] of this.dedupeWrites) {
        if (t0 === null) w.deleteDedupe(id);
        else w.putDedupe(id, t0, this.dedupeReplaced.has(id) ? this.dedupeReplaced.get(id) : null);
      }
      for (const [key, state] of this.windowWrites) {
        if (state === null) w.deleteWindow(key);
        // Not created here means it was read from the store (an overlay hit was created here too).
        else w.putWindow(key, state, this.createdWindows.has(key), this.movedCloses.get(key));
      }
      for (const [key, value] of this.retainedWrites) {
        if (value === null) w.deleteRetained(key);
        else w.putRetained(key, value);
      }
      for (const [source, wm] of this.watermarkWrites) w.setWatermark(source, wm);
      for (const [window, start] of this.closedWrites) w.setClosedThrough(window, start);
      w.setMeta({ ...meta, syncedAtMs: Date.now() });
    });
  }
}
