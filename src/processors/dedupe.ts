import type { DedupeStore } from '../model/store-ports.ts';

export type DedupeVerdict = 'duplicate' | 'first';

/**
 * An id first seen at event time t0 is a duplicate for any event time <= t0 + ttl,
 * including times before t0 (out-of-order arrivals). Later than that it counts
 * again and becomes the new t0. Duplicates never move t0, so a steady trickle
 * of repeats cannot keep an id suppressed forever.
 *
 * The lookup and the write are separate steps because lateness is decided between them: a
 * late event may be a duplicate (dropped), but if it is not, its id is not recorded.
 */
export class DedupeProcessor {
  private readonly store: DedupeStore;
  private readonly ttlMs: number;
  private readonly retentionMs: number;

  /**
   * `retentionMs`: how long past t0 the store keeps an id (window-math.ts, dedupeRetentionMs).
   * Past it the id may or may not be forgotten yet, depending on where batches ended.
   */
  constructor(store: DedupeStore, ttlMs: number, retentionMs = Number.POSITIVE_INFINITY) {
    this.store = store;
    this.ttlMs = ttlMs;
    this.retentionMs = retentionMs;
  }

  /** The id's stored first sighting, if any. Reads only. */
  firstSeen(id: string): number | undefined {
    return this.store.get(id);
  }

  /**
   * Whether an event at `eventTime` repeats the sighting t0. Once stream time reaches
   * t0 + retention the id counts as unknown, forgotten or not, so the verdict never depends on
   * batch boundaries; any repeat within the ttl is late by then (see dedupeRetentionMs).
   */
  isDuplicate(t0: number, eventTime: number, streamTime: number): boolean {
    return eventTime <= t0 + this.ttlMs && streamTime < t0 + this.retentionMs;
  }

  /** Records a first sighting; `t0` is what {@link firstSeen} returned for the id just before. */
  record(id: string, eventTime: number, t0: number | undefined): void {
    this.store.put(id, eventTime, t0);
  }

  /** Lookup and record in one step, for an event already known not to be late. */
  check(id: string, eventTime: number, streamTime = Number.NEGATIVE_INFINITY): DedupeVerdict {
    const t0 = this.firstSeen(id);
    if (t0 !== undefined && this.isDuplicate(t0, eventTime, streamTime)) return 'duplicate';
    this.record(id, eventTime, t0);
    return 'first';
  }
}
