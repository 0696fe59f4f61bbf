// What a changelog reader hands to state during a restore: the reader (one per Kafka client) only
// fetches committed records, in offset order; state (src/state/changelog-restore.ts) applies them.

export interface ChangelogEntry {
  key: Buffer | null;
  value: Buffer | null;
}

/** Where a changelog reader delivers what it read. */
export interface RestoreTarget {
  /** `next`: the changelog offset after this batch (control records included) */
  apply(records: readonly ChangelogEntry[], next: bigint | string): void;
}
