// Keeps a TableStore in step with the topic it is kept in: loads the partitions it holds up to
// their end before anything looks rows up, then follows them while the table lives. Each applied
// batch lands in one LMDB transaction with the partition's new position (table-store.ts), so a
// restart goes on from there. A follower that fails is started again from the stored positions.
import { sluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StreamClient, TopicFollower } from '../clients/port.ts';
import type { TableStore } from '../state/table-store.ts';

export interface TableSyncOptions {
  name: string;
  topic: string;
  partitions: readonly number[];
  store: TableStore;
  client: StreamClient;
  log: Logger;
  /** called while the first load waits, e.g. to keep a group membership alive */
  heartbeat?: () => Promise<void>;
  /** hears of every applied batch: its records, and how many of them were skipped as unusable */
  onApplied?: (records: number, skipped: number) => void;
}

const RETRY_MS = 2000;
const PROGRESS_MS = 10_000;

export class TableSync {
  private readonly opts: TableSyncOptions;
  private follower: TopicFollower | undefined;
  private stopped = false;
  /** next offset to read per partition, as applied to the store */
  private readonly positions = new Map<number, bigint>();

  private constructor(opts: TableSyncOptions) {
    this.opts = opts;
  }

  /** Resolves once every partition reached the end it had when the load began. */
  static async start(opts: TableSyncOptions): Promise<TableSync> {
    const sync = new TableSync(opts);
    try {
      await sync.load();
    } catch (err) {
      await sync.stop();
      throw err;
    }
    return sync;
  }

  private async load(): Promise<void> {
    const { store, client, topic, partitions, log, name } = this.opts;
    const ends = new Map<number, bigint>();
    for (const p of partitions) {
      const stored = store.position(p);
      const start = BigInt(await client.logStartOffset(topic, p));
      // Offsets below the log start are gone, and with them tombstones this store never saw.
      if (stored !== undefined && BigInt(stored) < start) {
        log.warn(`table ${name}: partition ${p} of ${topic} starts at ${start}, after the stored position ${stored}; reloading the table`);
        store.clear();
        for (const q of partitions) this.positions.delete(q);
        return this.load();
      }
      this.positions.set(p, stored === undefined ? start : BigInt(stored));
      ends.set(p, BigInt(await client.highWatermark(topic, p)));
    }
    const started = performance.now();
    await this.follow();
    let lastLog = started;
    for (;;) {
      const behind = [...ends].filter(([p, end]) => this.positions.get(p)! < end);
      if (behind.length === 0) break;
      const failure = await Promise.race([this.follower!.failed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
      if (failure !== undefined) throw sluiceError('SLUICE_TABLE_UNREADABLE', `table ${name}: reading ${topic} failed: ${failure.message}`, { cause: failure });
      if (performance.now() - lastLog > PROGRESS_MS) {
        lastLog = performance.now();
        log.info(`table ${name}: loading ${topic}, ${store.size} rows so far, ${behind.length} of ${partitions.length} partitions behind`);
      }
      await this.opts.heartbeat?.();
    }
    const bad = store.badRows > 0 ? `; ${store.badRows} records skipped, the last because ${store.lastBadRow}` : '';
    log[store.badRows > 0 ? 'warn' : 'info'](`table ${name}: ${store.size} rows from ${topic} partitions ${partitions.join(',')} in ${Math.round(performance.now() - started)} ms${bad}`);
  }

  private async follow(): Promise<void> {
    const { store, client, topic } = this.opts;
    const from = new Map([...this.positions].map(([p, next]) => [p, next.toString()] as const));
    const follower = await client.follow({ topic, from }, (partition, records, next) => {
      // A marker-only move after a batch already applied reports the same position again.
      if (next <= (this.positions.get(partition) ?? -1n)) return;
      const badBefore = store.badRows;
      store.applyRecords(partition, records, next);
      this.positions.set(partition, next);
      if (records.length > 0) this.opts.onApplied?.(records.length, store.badRows - badBefore);
    });
    this.follower = follower;
    void follower.failed.then((err) => this.restart(follower, err));
  }

  private async restart(failed: TopicFollower, err: Error): Promise<void> {
    if (this.stopped || this.follower !== failed) return;
    this.opts.log.warn(`table ${this.opts.name}: following ${this.opts.topic} failed (${err.message}); starting again from the stored positions in ${RETRY_MS} ms`);
    await failed.stop();
    await new Promise((r) => setTimeout(r, RETRY_MS));
    if (this.stopped) return;
    await this.follow().catch((e: unknown) => this.restart(failed, e as Error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.follower?.stop();
  }
}
