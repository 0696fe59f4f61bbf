/** Where first-seen event times live; backed by LMDB in production. */
export interface DedupeStore {
  get(id: string): number | undefined;
  /** `previous` is what get() returned for the id just before */
  put(id: string, t0: number, previous: number | undefined): void;
}

export type DedupeVerdict = 'duplicate' | 'first';

/**
 * An id first seen at event time t0 is a duplicate for any event time <= t0 + ttl,
 * including times before t0 (out-of-order arrivals). Later than that it counts
 * again and becomes the new t0. Duplicates never move t0, so a steady trickle
 * of repeats cannot keep an id suppressed forever.
 */
export class DedupeProcessor {
  private readonly store: DedupeStore;
  private readonly ttlMs: number;

  constructor(store: DedupeStore, ttlMs: number) {
    this.store = store;
    this.ttlMs = ttlMs;
  }

  check(id: string, eventTime: number): DedupeVerdict {
    const t0 = this.store.get(id);
    if (t0 !== undefined && eventTime <= t0 + this.ttlMs) return 'duplicate';
    this.store.put(id, eventTime, t0);
    return 'first';
  }
}
