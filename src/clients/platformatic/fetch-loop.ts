// sluice's fetch loop on @platformatic/kafka (see fetch.ts for why not the library's stream): it
// fetches every assigned partition that is neither paused nor busy, hands each partition's records
// to its lane, and moves that partition's position only when the lane is done. Membership
// (membership.ts) tells it the assignment.
import type { Consumer as PlatformaticConsumer } from '@platformatic/kafka';
import type { Logger } from '../../log.ts';
import type { GroupHandlers, TopicPartition } from '../port.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { PartitionFetcher, fetchKey } from './fetch.ts';
import type { FetchItem, FetchOutcome } from './fetch.ts';
import { platformaticKafka } from './loader.ts';

const { Consumer } = platformaticKafka;
type Consumer = PlatformaticConsumer;

export interface FetchLoopOptions extends PlatformaticConnection {
  groupId: string;
  maxBytesPerPartition: number;
  /** the member's consumer: the group's committed offsets are where partitions resume */
  group: Consumer;
  /** where a partition without a committed offset starts: its log start */
  startOffsets(parts: readonly TopicPartition[]): Promise<Map<string, bigint>>;
  log: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the library heartbeats on its own timer, whatever the lanes are doing */
const heartbeat = async (): Promise<void> => undefined;

export class FetchLoop {
  private readonly fetchConsumer: Consumer;
  private readonly fetcher: PartitionFetcher;
  private readonly opts: FetchLoopOptions;
  private readonly handlers: Pick<GroupHandlers, 'onBatch' | 'onFatal'>;
  /** assigned partition -> the assignment it came with, so a batch from an earlier one moves nothing */
  private readonly assigned = new Map<string, { tp: TopicPartition; token: number }>();
  private tokens = 0;
  /** next offset to fetch per assigned partition; missing until looked up */
  private readonly positions = new Map<string, bigint>();
  private readonly paused = new Set<string>();
  /** partitions whose batch a lane is processing */
  private readonly busy = new Map<string, Promise<void>>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** counts assignments, so a position looked up before one is not used after it */
  private joins = 0;
  /** partitions whose offset was out of range: they restart from the log start, not the group's offset */
  private readonly resetToStart = new Set<string>();
  /** partitions holding a batch that cannot be decoded: never fetched again (the process is stopping) */
  private readonly unreadable = new Set<string>();
  private lastRetryLog = 0;

  constructor(opts: FetchLoopOptions, handlers: Pick<GroupHandlers, 'onBatch' | 'onFatal'>) {
    this.opts = opts;
    this.handlers = handlers;
    // Fetches go through a consumer of their own that never retries: the library would retry a
    // whole multi-partition request for one partition's leader move (about 15 s with backoff),
    // holding back every other partition; the fetch loop retries per partition instead.
    this.fetchConsumer = new Consumer({ ...connectionOptions(opts, 'fetch'), groupId: opts.groupId, retries: 0 });
    this.fetcher = new PartitionFetcher(this.fetchConsumer, { maxBytesPerPartition: opts.maxBytesPerPartition });
  }

  start(): void {
    this.loop = this.run();
  }

  /**
   * The member's new assignment. Every join re-reads the group's offsets, as kafkajs does: a batch
   * still in flight from before it moves no position (see dispatch), and its commit is in the
   * offsets read.
   */
  assign(now: ReadonlyMap<string, TopicPartition>): void {
    for (const id of [...this.assigned.keys()]) {
      if (now.has(id)) continue;
      this.assigned.delete(id);
      this.positions.delete(id);
      this.paused.delete(id);
    }
    for (const [id, tp] of now) if (!this.assigned.has(id)) this.assigned.set(id, { tp, token: ++this.tokens });
    this.joins++;
    this.positions.clear();
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { log } = this.opts;
    while (!this.stopping) {
      try {
        const ready: FetchItem[] = [];
        const lookup: TopicPartition[] = [];
        for (const [id, { tp }] of this.assigned) {
          if (this.paused.has(id) || this.busy.has(id) || this.unreadable.has(id)) continue;
          const offset = this.positions.get(id);
          if (offset === undefined) lookup.push(tp);
          else ready.push({ ...tp, offset });
        }
        if (lookup.length > 0) await this.lookUpPositions(lookup);
        if (ready.length === 0) {
          if (lookup.length === 0) await this.idle(100);
          continue;
        }
        const tokens = new Map(ready.map((i) => [fetchKey(i.topic, i.partition), this.assigned.get(fetchKey(i.topic, i.partition))?.token]));
        // A long poll would hold back a partition whose lane finishes meanwhile.
        const outcomes = await this.fetcher.fetch(ready, this.busy.size > 0 ? 5 : 100);
        let retry: string | undefined;
        for (const item of ready) {
          const id = fetchKey(item.topic, item.partition);
          const outcome = outcomes.get(id);
          // Revoked, reassigned or paused-and-moved while the fetch was out: its result is stale.
          if (outcome === undefined || this.assigned.get(id)?.token !== tokens.get(id) || this.positions.get(id) !== item.offset) continue;
          if (outcome.kind === 'retry') retry = `${id}: ${outcome.reason}`;
          else if (outcome.kind === 'unreadable') {
            this.unreadable.add(id);
            this.handlers.onFatal(outcome.error);
          } else if (outcome.kind === 'out-of-range') {
            // The group's offset is gone (retention) or beyond the end: like kafkajs, start over
            // from the earliest record, which exactly-once lanes skip up to their own offset.
            log.error(`${id}: offset ${item.offset} is out of range; continuing from the log start`);
            this.positions.delete(id);
            this.resetToStart.add(id);
          } else if (outcome.records.length === 0) this.positions.set(id, outcome.next);
          else this.dispatch(id, item, outcome, tokens.get(id)!);
        }
        if (retry !== undefined) {
          if (Date.now() - this.lastRetryLog > 10_000) {
            this.lastRetryLog = Date.now();
            log.warn(`fetch failed, retrying: ${retry}`);
          }
          await sleep(200);
        }
      } catch (err) {
        log.warn(`fetch loop: ${(err as Error).message}; retrying`);
        await sleep(500);
      }
    }
  }

  private dispatch(id: string, item: FetchItem, outcome: Extract<FetchOutcome, { kind: 'records' }>, token: number): void {
    const { records, next, lastStable } = outcome;
    const lag = lastStable - next;
    const work = this.handlers.onBatch({ topic: item.topic, partition: item.partition, messages: records, lagBeyond: lag > 0n ? Number(lag) : 0 }, heartbeat)
      .then((last) => {
        if (last === undefined || this.assigned.get(id)?.token !== token || this.positions.get(id) !== item.offset) return;
        // Past the whole fetch when every record is done: trailing transaction markers included.
        const after = BigInt(last) + 1n;
        this.positions.set(id, last === records[records.length - 1]!.offset ? next : after);
      })
      .catch((err: unknown) => this.opts.log.warn(`${id}: batch failed: ${(err as Error).message}`))
      .finally(() => {
        this.busy.delete(id);
        this.wake?.();
      });
    this.busy.set(id, work);
  }

  private async lookUpPositions(parts: readonly TopicPartition[]): Promise<void> {
    const join = this.joins;
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of parts) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const committed = await this.opts.group.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    const fresh: TopicPartition[] = [];
    const found = new Map<string, bigint>();
    for (const tp of parts) {
      const id = fetchKey(tp.topic, tp.partition);
      const offset = committed.get(tp.topic)?.[tp.partition];
      if (offset !== undefined && offset >= 0n && !this.resetToStart.has(id)) found.set(id, offset);
      else fresh.push(tp);
    }
    if (fresh.length > 0) {
      const starts = await this.opts.startOffsets(fresh);
      for (const tp of fresh) {
        const id = fetchKey(tp.topic, tp.partition);
        const start = starts.get(id);
        if (start !== undefined) found.set(id, start);
      }
    }
    // A join meanwhile may have revoked some of these, or made the offsets read stale.
    if (join !== this.joins) return;
    for (const [id, offset] of found) {
      if (!this.assigned.has(id)) continue;
      this.positions.set(id, offset);
      this.resetToStart.delete(id);
    }
  }

  /** Waits for a lane to finish, an assignment or a resume, or `ms`. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.add(fetchKey(topic, partition));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.delete(fetchKey(topic, partition));
    this.wake?.();
  }

  /** Stops fetching and waits for the batches lanes hold. */
  async drain(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.busy.values());
  }

  async close(): Promise<void> {
    await this.fetchConsumer.close(true).catch(() => undefined);
  }
}
