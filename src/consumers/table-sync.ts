// Keeps a TableStore in step with the topic it is kept in: loads the partitions it holds up to
// their end before anything looks rows up, then follows them while the table lives. Each applied
// batch lands in one LMDB transaction with the partition's new position (table-store.ts), so a
// restart goes on from there. A follower that fails is started again from the stored positions,
// after the same checks as a first load: rows that may have missed deletes are read again whole.
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
  /** how long a load may see no progress before it fails (and is retried); default 60 s */
  stallTimeoutMs?: number;
}

const RETRY_MS = 2000;
const PROGRESS_MS = 10_000;
const DEFAULT_DELETE_RETENTION_MS = 86_400_000;

export class TableSync {
  private readonly opts: TableSyncOptions;
  private follower: TopicFollower | undefined;
  private stopped = false;
  /** next offset to read per partition, as applied to the store */
  private readonly positions = new Map<number, bigint>();
  private progressedAt = performance.now();

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

  /**
   * The stored rows can be continued only if nothing they would need is gone: a position below
   * the log start (retention deleted records), above the end (the topic was recreated), or rows
   * last synced longer ago than delete.retention.ms (compaction may have dropped tombstones they
   * never saw). Otherwise the table is read again from the start: emptied first when nothing
   * looks rows up yet (`firstLoad`), else over the rows it has, so lookups never meet an empty
   * table while it is read again (a row deleted meanwhile may then stay until the next start).
   */
  private async reconcile(firstLoad: boolean): Promise<Map<number, bigint>> {
    const { store, client, topic, partitions, log, name } = this.opts;
    const retention = Number((await client.topics.topicConfig(topic, 'delete.retention.ms').catch(() => undefined)) ?? DEFAULT_DELETE_RETENTION_MS);
    const synced = store.syncedAtMs();
    let why = synced !== undefined && Date.now() - synced > retention ? `its rows were last synced ${Math.round((Date.now() - synced) / 1000)} s ago, longer than ${topic}'s delete.retention.ms` : undefined;
    const ends = new Map<number, bigint>();
    const starts = new Map<number, bigint>();
    for (const p of partitions) {
      starts.set(p, BigInt(await client.logStartOffset(topic, p)));
      ends.set(p, BigInt(await client.highWatermark(topic, p)));
      const stored = store.position(p);
      if (why !== undefined || stored === undefined) continue;
      if (BigInt(stored) < starts.get(p)!) why = `partition ${p} now starts at ${starts.get(p)}, after its stored position ${stored}`;
      else if (BigInt(stored) > ends.get(p)!) why = `partition ${p} now ends at ${ends.get(p)}, before its stored position ${stored} (was the topic recreated?)`;
    }
    if (why !== undefined) {
      log.warn(`table ${name}: ${why}; reading the table again from the start`);
      if (firstLoad) store.clear();
    }
    this.positions.clear();
    for (const p of partitions) {
      const stored = why === undefined ? store.position(p) : undefined;
      this.positions.set(p, stored === undefined ? starts.get(p)! : BigInt(stored));
    }
    return ends;
  }

  private async load(): Promise<void> {
    const { store, topic, partitions, log, name } = this.opts;
    const ends = await this.reconcile(true);
    const started = performance.now();
    await this.follow();
    const stallMs = this.opts.stallTimeoutMs ?? 60_000;
    this.progressedAt = performance.now();
    let lastLog = started;
    for (;;) {
      const behind = [...ends].filter(([p, end]) => this.positions.get(p)! < end);
      if (behind.length === 0) break;
      if (this.stopped) throw sluiceError('SLUICE_KAFKA', `table ${name}: stopped while loading ${topic}`);
      const failure = await Promise.race([this.follower!.failed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
      // Retryable: a lane's open is tried again, a worker's start fails and is restarted.
      if (failure !== undefined) throw sluiceError('SLUICE_KAFKA', `table ${name}: reading ${topic} failed: ${failure.message}`, { cause: failure });
      if (performance.now() - this.progressedAt > stallMs) {
        throw sluiceError('SLUICE_KAFKA', `table ${name}: loading ${topic} made no progress for ${Math.round(stallMs / 1000)} s (partitions ${behind.map(([p]) => p).join(',')} behind; an open transaction on the table topic holds read_committed readers back)`);
      }
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
      if (this.stopped || next <= (this.positions.get(partition) ?? -1n)) return;
      const badBefore = store.badRows;
      store.applyRecords(partition, records, next);
      this.positions.set(partition, next);
      this.progressedAt = performance.now();
      if (records.length > 0) this.opts.onApplied?.(records.length, store.badRows - badBefore);
    });
    // stop() may have come while the follower was starting: it must not outlive the table.
    if (this.stopped) {
      await follower.stop();
      return;
    }
    this.follower = follower;
    void follower.failed.then((err) => this.restart(follower, err));
  }

  private async restart(failed: TopicFollower, err: Error): Promise<void> {
    if (this.stopped || this.follower !== failed) return;
    this.opts.log.warn(`table ${this.opts.name}: following ${this.opts.topic} failed (${err.message}); starting again from the stored positions in ${RETRY_MS} ms`);
    await failed.stop();
    await new Promise((r) => setTimeout(r, RETRY_MS));
    if (this.stopped) return;
    try {
      await this.reconcile(false);
      await this.follow();
    } catch (e) {
      await this.restart(failed, e as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.follower?.stop();
  }
}
