// Group membership on kafkajs: its own fetch loop with one eachBatch per partition, all
// partitions concurrently.
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../log.ts';
import { kafkajsCrashVerdict } from '../fatal.ts';
import type { GroupHandlers, GroupMembership, GroupOptions, TopicPartition } from '../port.ts';

/** kafkajs's pause/resume argument */
function byTopic(parts: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>();
  for (const { topic, partition } of parts) {
    const list = map.get(topic);
    if (list === undefined) map.set(topic, [partition]);
    else list.push(partition);
  }
  return [...map].map(([topic, partitions]) => ({ topic, partitions }));
}

export class KafkajsGroup implements GroupMembership {
  private readonly consumer: Consumer;
  private readonly opts: GroupOptions;
  private readonly log: Logger;
  /** what backpressure paused, re-applied to a consumer that restarted meanwhile */
  private readonly paused = new Map<string, TopicPartition>();

  constructor(kafka: Kafka, opts: GroupOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      readUncommitted: false,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxWaitTimeInMs: 100,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      rebalanceTimeout: 60_000,
      allowAutoTopicCreation: false,
    });
  }

  async start(handlers: GroupHandlers): Promise<void> {
    const { consumer } = this;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (this.paused.size > 0) this.safely('pause', () => this.consumer.pause(byTopic([...this.paused.values()])));
      const assigned: TopicPartition[] = [];
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) for (const partition of partitions) assigned.push({ topic, partition });
      handlers.onAssigned(assigned);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.log.error(`consumer crashed: ${e.payload.error.message}${e.payload.restart ? ' (restarting)' : ''}`);
      const fatal = kafkajsCrashVerdict(e.payload.error, e.payload.restart, this.opts.topics);
      if (fatal !== undefined) handlers.onFatal(fatal);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.opts.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Every partition of every subscribed topic may have its own batch in flight.
      partitionsConsumedConcurrently: 1024,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const lag = Number(batch.offsetLag());
        const last = await handlers.onBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages, lagBeyond: Number.isFinite(lag) && lag > 0 ? lag : 0 }, heartbeat);
        // Unresolved, kafkajs fetches the same records again.
        if (last !== undefined) resolveOffset(last);
      },
    });
  }

  // A lane that closes (a revocation, a shutdown) releases its bytes and may resume intake while
  // kafkajs has no running consumer (stopping, or restarting after a broker outage), and then
  // these throw; a restarted consumer gets the pauses again at its next join.
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.set(`${tp.topic}/${tp.partition}`, tp);
    this.safely('pause', () => this.consumer.pause(byTopic(partitions)));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(`${tp.topic}/${tp.partition}`);
    this.safely('resume', () => this.consumer.resume(byTopic(partitions)));
  }

  private safely(what: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.log.debug(`kafkajs ${what} while the consumer is not running: ${(err as Error).message}`);
    }
  }

  commitOffset(topic: string, partition: number, nextOffset: string): Promise<void> {
    return this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
  }

  stop(): Promise<void> {
    // kafkajs waits for the batches in flight before it leaves the group.
    return this.consumer.disconnect();
  }
}
