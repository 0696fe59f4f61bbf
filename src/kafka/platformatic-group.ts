// Group membership on @platformatic/kafka with sluice's own fetch loop (see platformatic-fetch.ts
// for why not the library's stream). The library joins the group and heartbeats on its own
// timer; this loop fetches every assigned partition that is neither paused nor busy, hands each
// partition's records to its lane, and moves that partition's position only when the lane is done.
import type { Consumer as PlatformaticConsumer, GroupAssignment } from '@platformatic/kafka';
import type { Logger } from '../log.ts';
import { platformaticRetryDelay } from '../sinks/platformatic-sink.ts';
import { PartitionFetcher, fetchKey } from './platformatic-fetch.ts';
import { platformaticKafka } from './platformatic.ts';
import type { FetchItem, FetchOutcome } from './platformatic-fetch.ts';
import type { GroupHandlers, GroupMembership, GroupOptions, TopicPartition } from './stream-client.ts';

const { Consumer } = platformaticKafka;
type Consumer = PlatformaticConsumer;

export interface PlatformaticGroupOptions extends GroupOptions {
  brokers: readonly string[];
  clientId: string;
  /** where a partition without a committed offset starts: its log start */
  startOffsets(parts: readonly TopicPartition[]): Promise<Map<string, bigint>>;
  log: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the library heartbeats on its own timer, whatever the lanes are doing */
const heartbeat = async (): Promise<void> => undefined;

export class PlatformaticGroup implements GroupMembership {
  private readonly consumer: Consumer;
  private readonly fetchConsumer: Consumer;
  private readonly fetcher: PartitionFetcher;
  private readonly opts: PlatformaticGroupOptions;
  private handlers: GroupHandlers | undefined;
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
  /** counts joins, so a position looked up before a join is not used after it */
  private joins = 0;
  private rejoining: Promise<void> | undefined;
  /** partitions whose offset was out of range: they restart from the log start, not the group's offset */
  private readonly resetToStart = new Set<string>();
  /** partitions holding a batch that cannot be decoded: never fetched again (the process is stopping) */
  private readonly unreadable = new Set<string>();
  private lastRetryLog = 0;

  constructor(opts: PlatformaticGroupOptions) {
    this.opts = opts;
    this.consumer = new Consumer({
      clientId: opts.clientId,
      bootstrapBrokers: [...opts.brokers],
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      rebalanceTimeout: 60_000,
      autocommit: false,
      retries: 8,
      retryDelay: platformaticRetryDelay,
    });
    // Fetches go through a consumer of their own that never retries: the library would retry a
    // whole multi-partition request for one partition's leader move (about 15 s with backoff),
    // holding back every other partition; the fetch loop retries per partition instead.
    this.fetchConsumer = new Consumer({ clientId: `${opts.clientId}-fetch`, bootstrapBrokers: [...opts.brokers], groupId: opts.groupId, retries: 0 });
    this.fetcher = new PartitionFetcher(this.fetchConsumer, { maxBytesPerPartition: opts.maxBytesPerPartition });
  }

  async start(handlers: GroupHandlers): Promise<void> {
    this.handlers = handlers;
    const { consumer, opts } = this;
    consumer.on('consumer:group:join', (e) => this.onJoin(e.assignments ?? []));
    consumer.on('consumer:heartbeat:error', (e) => opts.log.debug(`heartbeat failed: ${e.error.message}`));
    // A failed rejoin is emitted as 'error' (unhandled, it would kill the process) and leaves no
    // heartbeat scheduled: this member is out of the group, so it hands back its partitions (the
    // group may have given them to another) and joins again, as kafkajs restarts its consumer.
    consumer.on('error', (err: Error) => this.rejoin(`group error: ${err.message}`));
    consumer.on('consumer:heartbeat:stalled', (e) => this.rejoin(`group heartbeats stalled for ${e.stalledFor} ms: ${e.lastError?.message ?? 'no answer'}`));
    for (const topic of opts.topics) consumer.topics.track(topic);
    await this.join();
    this.loop = this.run();
  }

  private join(): Promise<string> {
    return this.consumer.joinGroup({ sessionTimeout: this.opts.sessionTimeoutMs, rebalanceTimeout: 60_000 });
  }

  private rejoin(why: string): void {
    if (this.stopping || this.rejoining !== undefined) return;
    this.opts.log.warn(`${why}; releasing this member's partitions and joining the group again`);
    this.onJoin([]);
    this.rejoining = (async () => {
      for (let attempt = 0; !this.stopping; attempt++) {
        try {
          await this.join();
          return;
        } catch (err) {
          const delay = Math.min(500 * 2 ** attempt, 30_000);
          this.opts.log.warn(`joining the group failed (${(err as Error).message}); retrying in ${delay} ms`);
          await sleep(delay);
        }
      }
    })().finally(() => (this.rejoining = undefined));
  }

  private onJoin(assignments: readonly GroupAssignment[]): void {
    const now = new Map<string, TopicPartition>();
    for (const a of assignments) for (const partition of a.partitions) now.set(fetchKey(a.topic, partition), { topic: a.topic, partition });
    for (const id of [...this.assigned.keys()]) {
      if (now.has(id)) continue;
      this.assigned.delete(id);
      this.positions.delete(id);
      this.paused.delete(id);
    }
    for (const [id, tp] of now) if (!this.assigned.has(id)) this.assigned.set(id, { tp, token: ++this.tokens });
    // Every join re-reads the group's offsets, as kafkajs does: a batch still in flight from
    // before it moves no position (see dispatch), and its commit is in the offsets read.
    this.joins++;
    this.positions.clear();
    this.handlers?.onAssigned([...now.values()]);
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
            this.handlers!.onFatal(outcome.error);
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
    const work = this.handlers!.onBatch({ topic: item.topic, partition: item.partition, messages: records, lagBeyond: lag > 0n ? Number(lag) : 0 }, heartbeat)
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
    const committed = await this.consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
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

  commitOffset(topic: string, partition: number, nextOffset: string): Promise<void> {
    return this.consumer.commit({ offsets: [{ topic, partition, offset: BigInt(nextOffset), leaderEpoch: -1 }] });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.busy.values(), this.rejoining]);
    await (this.consumer.leaveGroup(false) as unknown as Promise<void>).catch((err: Error) => this.opts.log.warn(`leaving the group failed: ${err.message}`));
    await this.consumer.close(true).catch(() => undefined);
    await this.fetchConsumer.close(true).catch(() => undefined);
  }
}
