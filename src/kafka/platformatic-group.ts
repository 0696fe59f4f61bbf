// Group membership on @platformatic/kafka with sluice's own fetch loop (see platformatic-fetch.ts
// for why not the library's stream). The library joins the group and heartbeats on its own
// timer; this loop fetches every assigned partition that is neither paused nor busy, hands each
// partition's records to its lane, and moves that partition's position only when the lane is done.
import { Consumer } from '@platformatic/kafka';
import type { GroupAssignment } from '@platformatic/kafka';
import type { Logger } from '../log.ts';
import { platformaticRetryDelay } from '../sinks/platformatic-sink.ts';
import { PartitionFetcher, fetchKey } from './platformatic-fetch.ts';
import type { FetchItem, FetchOutcome } from './platformatic-fetch.ts';
import type { GroupHandlers, GroupMembership, GroupOptions, TopicPartition } from './stream-client.ts';

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
    this.fetcher = new PartitionFetcher(this.consumer, { maxWaitMs: 100, maxBytesPerPartition: opts.maxBytesPerPartition });
  }

  async start(handlers: GroupHandlers): Promise<void> {
    this.handlers = handlers;
    const { consumer, opts } = this;
    consumer.on('consumer:group:join', (e) => this.onJoin(e.assignments ?? []));
    consumer.on('consumer:heartbeat:error', (e) => opts.log.debug(`heartbeat failed: ${e.error.message}`));
    consumer.on('consumer:heartbeat:stalled', (e) => opts.log.warn(`group heartbeats stalled for ${e.stalledFor} ms: ${e.lastError?.message ?? 'no answer'}`));
    for (const topic of opts.topics) consumer.topics.track(topic);
    await consumer.joinGroup({ sessionTimeout: opts.sessionTimeoutMs, rebalanceTimeout: 60_000 });
    this.loop = this.run();
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
          if (this.paused.has(id) || this.busy.has(id)) continue;
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
        const outcomes = await this.fetcher.fetch(ready);
        let retry = false;
        for (const item of ready) {
          const id = fetchKey(item.topic, item.partition);
          const outcome = outcomes.get(id);
          // Revoked, reassigned or paused-and-moved while the fetch was out: its result is stale.
          if (outcome === undefined || this.assigned.get(id)?.token !== tokens.get(id) || this.positions.get(id) !== item.offset) continue;
          if (outcome.kind === 'retry') retry = true;
          else if (outcome.kind === 'out-of-range') {
            log.warn(`${id}: offset ${item.offset} is out of range; continuing from the log start ${outcome.logStart}`);
            if (outcome.logStart >= 0n) this.positions.set(id, outcome.logStart);
            else this.positions.delete(id);
          } else if (outcome.records.length === 0) this.positions.set(id, outcome.next);
          else this.dispatch(id, item, outcome, tokens.get(id)!);
        }
        if (retry) await sleep(200);
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
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of parts) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const committed = await this.consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    const fresh: TopicPartition[] = [];
    for (const tp of parts) {
      const offset = committed.get(tp.topic)?.[tp.partition];
      if (offset !== undefined && offset >= 0n) this.positions.set(fetchKey(tp.topic, tp.partition), offset);
      else fresh.push(tp);
    }
    if (fresh.length === 0) return;
    const starts = await this.opts.startOffsets(fresh);
    for (const tp of fresh) {
      const id = fetchKey(tp.topic, tp.partition);
      const start = starts.get(id);
      if (start !== undefined && this.assigned.has(id)) this.positions.set(id, start);
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
    await Promise.allSettled([...this.busy.values()]);
    await (this.consumer.leaveGroup(false) as unknown as Promise<void>).catch((err: Error) => this.opts.log.warn(`leaving the group failed: ${err.message}`));
    await this.consumer.close(true).catch(() => undefined);
  }
}
