// Closed windows' finals kept for interactive queries (http.queryRetention): two LMDB databases
// in the lane's environment, beside and apart from the open windows, so nothing on the data path
// that aggregates, closes or checks lateness can ever read them. PartitionStore composes this.
import type { Database, RootDatabase } from 'lmdb';
import type { RetainedFinal, WindowState } from '../model/window-state.ts';

/**
 * A retained final as stored and as its changelog value (`r|<window key>`): short field names,
 * since there is one per window and group closed within the retention.
 */
export interface StoredRetained {
  s: WindowState;
  /** until, epoch ms (wall clock) */
  u: number;
  /** 1 when an idle close wrote the final */
  i?: 1;
}

export function storedRetained(final: RetainedFinal): StoredRetained {
  return final.closedBy === 'idle' ? { s: final.state, u: final.until, i: 1 } : { s: final.state, u: final.until };
}

function retainedFinal(stored: StoredRetained): RetainedFinal {
  return stored.i === 1 ? { state: stored.s, until: stored.u, closedBy: 'idle' } : { state: stored.s, until: stored.u };
}

type ExpiryKey = [until: number, key: string];

export class RetainedStore {
  readonly db: Database<StoredRetained, string>;
  /** [until, key]: what expires first, as the windows' close index orders what closes first */
  readonly expiryIndex: Database<true, ExpiryKey>;

  constructor(env: RootDatabase) {
    this.db = env.openDB({ name: 'retained' });
    this.expiryIndex = env.openDB({ name: 'retained-expiry-index' });
  }

  /** Every entry whose window key starts with `prefix`, expired ones included: the caller compares `until` with its clock. */
  *withPrefix(prefix: string): Generator<[string, RetainedFinal]> {
    // As windowsWithPrefix: keys are ordered by their UTF-8 bytes, and what follows a group prefix is ASCII.
    for (const { key, value } of this.db.getRange({ start: prefix, end: `${prefix}\uffff` })) yield [key, retainedFinal(value)];
  }

  /** Keys of entries kept until `now` or earlier, soonest first, at most `limit`. */
  *expiringBy(now: number, limit: number): Generator<string> {
    for (const key of this.expiryIndex.getKeys({ end: [now, '\uffff'], limit })) yield (key as ExpiryKey)[1];
  }

  /** Inside a write transaction. A key retained again (a replay, a restore) moves its index entry. */
  put(key: string, value: StoredRetained): void {
    const old = this.db.get(key);
    if (old !== undefined && old.u !== value.u) this.expiryIndex.removeSync([old.u, key]);
    this.db.putSync(key, value);
    this.expiryIndex.putSync([value.u, key], true);
  }

  /** Inside a write transaction. */
  delete(key: string): void {
    const old = this.db.get(key);
    if (old === undefined) return;
    this.expiryIndex.removeSync([old.u, key]);
    this.db.removeSync(key);
  }

  /** Inside a write transaction. */
  clear(): void {
    this.db.clearSync();
    this.expiryIndex.clearSync();
  }
}
