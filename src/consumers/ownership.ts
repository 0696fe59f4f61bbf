// The ownership directory behind query routing: every lane announces its owner's advertised URL
// on the owners topic when it opens (`announceOwnership`, in the thread that runs the lane), and
// the thread that serves HTTP follows that topic from the beginning into a map
// (`OwnersFollower`), so it can send a query for a partition it does not own to the one that does.
//
// Why the last record per key names the current owner: a partition's next owner opens its lane
// only after the group took the partition from the previous owner, fencing it (the init of the
// lane's transactional producer) and taking the store (the changelog's end, and the store lock
// within one state directory); it announces only once that open is done. The previous owner
// announced when its own lane opened, before all that, so in the topic's one partition the next
// owner's record follows the previous owner's, and the last record per key is the current owner.
// Except in the window between a lane closing and the next one opening: the directory still names
// the previous owner, which finds its own URL there without the lane and answers 503 (the query
// side's rule) until the new announcement lands. One gap is left: an announcement still in flight
// (a slow or failing broker) when its lane closes can land after the next owner's, and stays
// there until the partition moves again; `at` is on each owner's own clock, so it cannot order
// them.
import type { RecordProducer, StreamClient, TopicFollower } from '../clients/port.ts';
import type { Logger } from '../log.ts';
import type { ChangelogEntry } from '../model/changelog.ts';
import { decodeOwner, encodeOwner, ownerKey } from '../model/ownership.ts';
import type { OwnerDirectory, PartitionOwner } from '../model/ownership.ts';
import type { OpenLane, OpenLanes } from './open-lanes.ts';

/** Backoff of a failed announcement or follower: doubling from the first delay up to the cap. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: Backoff = { firstMs: 250, maxMs: 30_000 };

/** How often an owner announces its open lanes again: one small record per lane, compacted away. */
export const ANNOUNCE_REFRESH_MS = 60_000;

/** The directory's state: the last announcement per partition key. */
export class OwnerMap {
  private readonly owners = new Map<string, PartitionOwner>();

  /** Applies records in offset order; a tombstone forgets its key. Returns how many were unreadable (skipped). */
  apply(records: readonly ChangelogEntry[]): number {
    let unreadable = 0;
    for (const { key, value } of records) {
      if (key === null) {
        unreadable++;
        continue;
      }
      if (value === null) {
        this.owners.delete(key.toString());
        continue;
      }
      const owner = decodeOwner(value);
      if (owner === undefined) unreadable++;
      else this.owners.set(key.toString(), owner);
    }
    return unreadable;
  }

  ownerOf(topic: string, partition: number): PartitionOwner | undefined {
    return this.owners.get(ownerKey(topic, partition));
  }

  get size(): number {
    return this.owners.size;
  }
}

export interface OwnersFollowerOptions {
  /** the owners topic */
  topic: string;
  /** this instance's advertised URL */
  self: string;
  log: Logger;
  backoff?: Backoff;
}

/**
 * The directory of the thread that serves HTTP. Lookups work from construction (nothing heard
 * yet); `follow` starts reading the owners topic, which must exist by then: following a missing
 * topic could have a broker that auto-creates topics create it uncompacted. A follower that fails
 * is started again from where it stopped, with backoff and a warning: a directory that lags only
 * sends some queries to a previous owner, never fails the pipeline.
 */
export class OwnersFollower implements OwnerDirectory {
  readonly self: string;
  private readonly opts: OwnersFollowerOptions;
  private readonly map = new OwnerMap();
  private follower: TopicFollower | undefined;
  /** the offset after the last record applied; undefined: from the log start */
  private next: bigint | undefined;
  private closed = false;
  private delay: number;
  private unreadable = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(opts: OwnersFollowerOptions) {
    this.opts = opts;
    this.self = opts.self;
    this.delay = (opts.backoff ?? DEFAULT_BACKOFF).firstMs;
  }

  ownerOf(topic: string, partition: number): PartitionOwner | undefined {
    return this.map.ownerOf(topic, partition);
  }

  /** Starts following the owners topic through the client `connect` gives; failures (its own included) are retried, never thrown. */
  follow(connect: () => Promise<StreamClient>): void {
    void this.start(connect);
  }

  private async start(connect: () => Promise<StreamClient>): Promise<void> {
    if (this.closed) return;
    let follower: TopicFollower;
    try {
      const client = await connect();
      follower = await client.follow({ topic: this.opts.topic, from: new Map([[0, this.next?.toString()]]) }, (_partition, records, next) => this.deliver(records, next));
    } catch (err) {
      this.retry(connect, err as Error);
      return;
    }
    // close() may have come while the follower was starting: it must not outlive the directory.
    if (this.closed) {
      await follower.stop();
      return;
    }
    if (this.next === undefined) this.opts.log.info(`following owners topic ${this.opts.topic} for query routing`);
    this.follower = follower;
    void follower.failed.then(async (err) => {
      if (this.closed || this.follower !== follower) return;
      this.follower = undefined;
      await follower.stop();
      this.retry(connect, err);
    });
  }

  private deliver(records: readonly ChangelogEntry[], next: bigint): void {
    if (this.closed || (this.next !== undefined && next <= this.next)) return;
    this.next = next;
    this.delay = (this.opts.backoff ?? DEFAULT_BACKOFF).firstMs;
    const unreadable = this.map.apply(records);
    // Once: another writer of the topic would repeat it for every record.
    if (unreadable > 0 && this.unreadable === 0) this.opts.log.warn(`owners topic ${this.opts.topic}: skipped ${unreadable} records that are not ownership announcements (before offset ${next})`);
    this.unreadable += unreadable;
  }

  private retry(connect: () => Promise<StreamClient>, err: Error): void {
    if (this.closed) return;
    const { maxMs } = this.opts.backoff ?? DEFAULT_BACKOFF;
    this.opts.log.warn(`following owners topic ${this.opts.topic} failed (${err.message}); query routing may be stale; starting again in ${this.delay} ms`);
    this.retryTimer = setTimeout(() => void this.start(connect), this.delay);
    this.delay = Math.min(this.delay * 2, maxMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.follower?.stop();
    this.follower = undefined;
  }
}

export interface AnnounceOptions {
  lanes: OpenLanes;
  /** the owners topic */
  topic: string;
  /** this instance's advertised URL */
  url: string;
  /** an idempotent producer; one that failed a send is closed and a new one opened */
  openProducer: () => Promise<RecordProducer>;
  log: Logger;
  backoff?: Backoff;
  /** how often every open lane is announced again (default ANNOUNCE_REFRESH_MS) */
  refreshMs?: number;
}

export interface Announcer {
  /** stops announcing (pending announcements are dropped) and closes the producer */
  close(): Promise<void>;
}

/**
 * Announces every lane that opens in `lanes` from now on. Announcements wait in a map (at most one
 * per open lane: the latest) and go out one send at a time, in order; a failed send is retried
 * with backoff, logged, until it lands or its lane has closed. It never fails the pipeline.
 */
export function announceOwnership(opts: AnnounceOptions): Announcer {
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const pending = new Map<string, { lane: OpenLane; at: number }>();
  let producer: Promise<RecordProducer> | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  let wake: (() => void) | undefined;

  const isOpen = (lane: OpenLane) => opts.lanes.get(lane.topic, lane.partition) === lane;
  const dropProducer = () => {
    const broken = producer;
    producer = undefined;
    void broken?.then((p) => p.close()).catch(() => undefined);
  };
  // close() ends a pause at once; one that starts after close() does not wait at all.
  const pause = (ms: number) =>
    closed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });

  const drain = async () => {
    let delay = backoff.firstMs;
    let failures = 0;
    while (!closed) {
      for (const [key, entry] of pending) if (!isOpen(entry.lane)) pending.delete(key);
      if (pending.size === 0) return;
      const batch = [...pending];
      try {
        const ready = await (producer ??= opts.openProducer());
        // Partition 0, which the directory follows, even on an owners topic created by hand with more.
        await ready.send(batch.map(([key, { at }]) => ({ topic: opts.topic, partition: 0, key, value: encodeOwner({ url: opts.url, at }) })));
        // A lane that opened again meanwhile has a newer entry: that one still goes out.
        for (const [key, entry] of batch) if (pending.get(key) === entry) pending.delete(key);
        if (failures > 0) opts.log.info(`announced ownership of ${batch.map(([key]) => key).join(', ')} after ${failures} failed attempts`);
        failures = 0;
        delay = backoff.firstMs;
      } catch (err) {
        failures++;
        opts.log.warn(`announcing ownership of ${batch.map(([key]) => key).join(', ')} on ${opts.topic} failed (${(err as Error).message}); retrying in ${delay} ms`);
        dropProducer();
        await pause(delay);
        delay = Math.min(delay * 2, backoff.maxMs);
      }
    }
  };
  const kick = () => {
    if (running !== undefined || closed) return;
    running = drain().finally(() => {
      running = undefined;
      if (pending.size > 0) kick();
    });
  };
  const announce = (lane: OpenLane) => {
    if (closed) return;
    pending.set(ownerKey(lane.topic, lane.partition), { lane, at: Date.now() });
    kick();
  };
  const unlisten = opts.lanes.onOpened(announce);
  const refresh = setInterval(() => opts.lanes.all().forEach(announce), opts.refreshMs ?? ANNOUNCE_REFRESH_MS);
  refresh.unref();

  return {
    close: async () => {
      closed = true;
      unlisten();
      clearInterval(refresh);
      pending.clear();
      wake?.();
      await running;
      const last = producer;
      producer = undefined;
      await last?.then((p) => p.close()).catch(() => undefined);
    },
  };
}
