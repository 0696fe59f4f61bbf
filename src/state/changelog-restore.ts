// The state side of a restore: a changelog reader (one per Kafka client) only fetches committed
// records and hands them over in offset order; this applies them to the store, one LMDB
// transaction per fetched batch together with the read position, so a restore cut short resumes
// where it stopped. It also checks that what it replays continues the store's own history.
import type { ChangelogEntry, RestoreTarget } from '../model/changelog.ts';
import { applyChangelogRecord } from './changelog-codec.ts';
import type { PartitionStore } from './partition-store.ts';

/** Replayed records belong to another changelog history than the store's: restore it whole. */
export class HistoryMismatchError extends Error {
  override name = 'HistoryMismatchError';
}

/**
 * `history`: the history the store's state belongs to, or null for a full restore into an empty
 * store, which takes whatever history the changelog has. A replay meeting a meta record of
 * another history (the changelog was deleted and recreated while this local state was kept)
 * throws before that batch lands, so the store never holds two histories.
 */
export class StoreRestore implements RestoreTarget {
  private readonly store: PartitionStore;
  private readonly history: string | undefined | null;
  applied = 0;

  constructor(store: PartitionStore, history: string | undefined | null) {
    this.store = store;
    this.history = history;
  }

  apply(records: readonly ChangelogEntry[], next: bigint | string): void {
    this.store.write((w) => {
      for (const r of records) {
        const meta = applyChangelogRecord(w, r.key?.toString() ?? '', r.value === null ? null : r.value.toString());
        if (meta !== undefined && this.history !== null && meta.history !== this.history) {
          throw new HistoryMismatchError(`changelog meta record of history ${meta.history ?? '(none)'} where the store holds history ${this.history ?? '(none)'}`);
        }
      }
      w.setMeta({ changelogNext: next.toString() });
    });
    this.applied += records.length;
  }
}
