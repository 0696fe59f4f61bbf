// Group membership on @platformatic/kafka. The library joins the group and heartbeats on its own
// timer; this module follows joins, rejoins after the library gives up, and commits offsets, while
// the fetch loop (fetch-loop.ts) fetches the partitions the member holds.
import type { Consumer as PlatformaticConsumer, GroupAssignment } from '@platformatic/kafka';
import type { Logger } from '../../log.ts';
import type { GroupHandlers, GroupMembership, GroupOptions, TopicPartition } from '../port.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { FetchLoop } from './fetch-loop.ts';
import { fetchKey } from './fetch.ts';
import { platformaticKafka } from './loader.ts';
import { platformaticRetryDelay } from './sink.ts';

const { Consumer } = platformaticKafka;
type Consumer = PlatformaticConsumer;

export interface PlatformaticGroupOptions extends GroupOptions, PlatformaticConnection {
  /** where a partition without a committed offset starts: its log start */
  startOffsets(parts: readonly TopicPartition[]): Promise<Map<string, bigint>>;
  log: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PlatformaticGroup implements GroupMembership {
  private readonly consumer: Consumer;
  private readonly opts: PlatformaticGroupOptions;
  private handlers: GroupHandlers | undefined;
  private fetchLoop: FetchLoop | undefined;
  private stopping = false;
  private rejoining: Promise<void> | undefined;

  constructor(opts: PlatformaticGroupOptions) {
    this.opts = opts;
    this.consumer = new Consumer({
      ...connectionOptions(opts),
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      rebalanceTimeout: 60_000,
      autocommit: false,
      retries: 8,
      retryDelay: platformaticRetryDelay,
    });
  }

  async start(handlers: GroupHandlers): Promise<void> {
    this.handlers = handlers;
    const { consumer, opts } = this;
    this.fetchLoop = new FetchLoop({ ...opts, group: consumer }, handlers);
    consumer.on('consumer:group:join', (e) => this.onJoin(e.assignments ?? []));
    consumer.on('consumer:heartbeat:error', (e) => opts.log.debug(`heartbeat failed: ${e.error.message}`));
    // A failed rejoin is emitted as 'error' (unhandled, it would kill the process) and leaves no
    // heartbeat scheduled: this member is out of the group, so it hands back its partitions (the
    // group may have given them to another) and joins again, as kafkajs restarts its consumer.
    consumer.on('error', (err: Error) => this.rejoin(`group error: ${err.message}`));
    consumer.on('consumer:heartbeat:stalled', (e) => this.rejoin(`group heartbeats stalled for ${e.stalledFor} ms: ${e.lastError?.message ?? 'no answer'}`));
    for (const topic of opts.topics) consumer.topics.track(topic);
    await this.join();
    this.fetchLoop.start();
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
    this.fetchLoop?.assign(now);
    this.handlers?.onAssigned([...now.values()]);
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.fetchLoop?.pause(partitions);
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.fetchLoop?.resume(partitions);
  }

  commitOffset(topic: string, partition: number, nextOffset: string): Promise<void> {
    return this.consumer.commit({ offsets: [{ topic, partition, offset: BigInt(nextOffset), leaderEpoch: -1 }] });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([this.fetchLoop?.drain(), this.rejoining]);
    await (this.consumer.leaveGroup(false) as unknown as Promise<void>).catch((err: Error) => this.opts.log.warn(`leaving the group failed: ${err.message}`));
    await this.consumer.close(true).catch(() => undefined);
    await this.fetchLoop?.close();
  }
}
