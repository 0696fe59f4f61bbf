// The store level above the partition store (as Quix Streams' Store above StorePartition): one
// lane's store, held under its lock, kept in step with its changelog partition. It decides how
// to bring local state up to the changelog's end (nothing, replay the gap, or restore whole),
// applies what a reader delivers, and stamps the result; the lane only fences, checks the group
// and processes. Reading the changelog is the Kafka client's business, handed in as a function.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { RestoreTarget } from '../model/changelog.ts';
import { HistoryMismatchError, StoreRestore } from './changelog-restore.ts';
import { PartitionStore } from './partition-store.ts';
import type { StoreTimes } from './partition-store.ts';
import { acquireStoreLock } from './store-lock.ts';
import type { StoreLock } from './store-lock.ts';

export type RestoreMode = 'none' | 'replay' | 'full';

/** Delivers the partition's committed changelog records from `fromOffset` (undefined: the start) up to `untilOffset`. */
export type ReadChangelog = (target: RestoreTarget, fromOffset: string | undefined, untilOffset: string) => Promise<void>;

export interface ChangeloggedStoreOptions {
  path: string;
  times: StoreTimes;
  /** how long an open waits for the store's previous owner to close it */
  lockWaitMs: number;
  /** the changelog's delete.retention.ms: older local state may have missed tombstones */
  tombstoneRetentionMs: number;
  read: ReadChangelog;
  log: Logger;
  /** how logs name the lane */
  name: string;
}

export interface RestoreOutcome {
  mode: RestoreMode;
  records: number;
  durationMs: number;
}

export class ChangeloggedStore {
  readonly store: PartitionStore;
  private readonly opts: ChangeloggedStoreOptions;
  private readonly lock: StoreLock;

  private constructor(opts: ChangeloggedStoreOptions, lock: StoreLock, store: PartitionStore) {
    this.opts = opts;
    this.lock = lock;
    this.store = store;
  }

  /** Takes the store's lock (one writer per store: store-lock.ts), then opens it. */
  static async open(opts: ChangeloggedStoreOptions): Promise<ChangeloggedStore> {
    const lock = await acquireStoreLock(opts.path, { waitMs: opts.lockWaitMs });
    try {
      const store = new PartitionStore(opts.path, opts.times);
      if (store.discardedAfterReboot) opts.log.warn(`${opts.name}: local state was written without fsync before this machine last booted; it was deleted and is restored from the changelog`);
      return new ChangeloggedStore(opts, lock, store);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * Brings the store up to the changelog's `end`; `full` forces a whole restore. A replay that
   * meets another changelog history (the topic was recreated) turns into a whole restore.
   */
  async bringTo(end: string, full = false): Promise<RestoreOutcome> {
    try {
      return await this.restoreOnce(end, full);
    } catch (err) {
      if (!(err instanceof HistoryMismatchError)) throw err;
      this.opts.log.warn(`${this.opts.name}: the changelog is not the one this local state came from (${err.message}); was it deleted and recreated? Restoring it whole`);
      return this.restoreOnce(end, true);
    }
  }

  private async restoreOnce(end: string, full: boolean): Promise<RestoreOutcome> {
    const { store, opts } = this;
    const local = store.meta();
    // Unstamped means never in step with a changelog end (or a full restore cut short): the
    // tombstones a replay would need may be gone, so only a full restore is safe.
    const fresh = local.syncedAtMs !== undefined && Date.now() - local.syncedAtMs < opts.tombstoneRetentionMs;
    let mode: RestoreMode;
    let from: string | undefined;
    if (!full && local.changelogNext !== undefined && fresh && BigInt(local.changelogNext) <= BigInt(end)) {
      mode = local.changelogNext === end ? 'none' : 'replay';
      from = local.changelogNext;
    } else if (BigInt(end) === 0n) {
      // Nothing was ever committed for this partition: whatever is on disk is from an earlier life.
      mode = 'none';
      if (local.inputOffset !== undefined) store.wipe();
    } else {
      // No usable local state: never here, too old for the tombstones, ahead of the changelog, or corrupt.
      mode = 'full';
      store.wipe();
    }
    if (mode === 'none') return { mode, records: 0, durationMs: 0 };
    const started = Date.now();
    // A store that never held changelog records takes the changelog's history, whatever it is.
    const target = new StoreRestore(store, mode === 'full' || from === '0' ? null : local.history);
    await opts.read(target, from, end);
    // A replay that outlasted the tombstone retention may have missed one removed meanwhile.
    if (mode === 'replay' && Date.now() - local.syncedAtMs! >= opts.tombstoneRetentionMs) {
      opts.log.warn(`${opts.name}: the replay outlasted the changelog's delete.retention.ms; restoring whole`);
      return this.restoreOnce(end, true);
    }
    const durationMs = Date.now() - started;
    opts.log.info(`${opts.name}: restored (${mode}) ${target.applied} changelog records in ${durationMs} ms`);
    return { mode, records: target.applied, durationMs };
  }

  /**
   * Marks the store in step with the changelog's `end` (read after fencing), aligns its forget
   * index with the current dedupe retention, and gives a store that never had a history (a new
   * changelog, or one written before histories) its own. Returns the history.
   */
  async seal(end: string): Promise<string> {
    const { store, opts } = this;
    const realigned = await store.alignForgetTimes();
    if (realigned > 0) opts.log.info(`${opts.name}: the dedupe retention changed; re-keyed ${realigned} ids' forget times`);
    const history = store.meta().history ?? randomUUID();
    store.write((w) => w.setMeta({ changelogNext: end, syncedAtMs: Date.now(), history }));
    return history;
  }

  /** Closes the store; the lock goes whatever the close meets, or the partition could never open here again. */
  async close(): Promise<void> {
    try {
      await this.store.close();
    } finally {
      await this.lock.release();
    }
  }
}
