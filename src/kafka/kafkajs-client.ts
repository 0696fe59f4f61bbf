// The StreamClient on kafkajs (see stream-client.ts): the group runs kafkajs's own fetch loop
// with one eachBatch per partition, all partitions concurrently.
import type { Admin, Consumer, ICustomPartitioner, Kafka, LogEntry, Producer } from 'kafkajs';
import type { Logger } from '../log.ts';
import type { CompressionName } from './compression.ts';
import { kafkajsCrashVerdict } from './fatal.ts';
import { KafkajsChangelogReader } from './kafkajs-changelog-reader.ts';
import { AtLeastOnceLaneSink, TransactionalLaneSink, kafkajsSender } from '../sinks/kafka-sink.ts';
import type { LaneSink } from '../sinks/kafka-sink.ts';
import { Kafka as KafkaClass, logLevel } from './client.ts';
import { createJavaCompatiblePartitioner } from './partitioner.ts';
import type { ChangelogReader, GroupHandlers, GroupMembership, GroupOptions, LaneSinkOptions, StreamClient, TopicPartition } from './stream-client.ts';

export interface KafkajsClientOptions {
  brokers: readonly string[];
  clientId: string;
  guarantee: 'exactly-once' | 'at-least-once';
  log: Logger;
  /** of everything the lane sinks produce (`output.compression`) */
  compression?: CompressionName;
}

// kafkajs logs every retriable broker answer (coordinator loading, rebalancing) as an error;
// those are routine here, and the failures that matter surface as lane or startup errors.
export function kafkajsLogger(log: Logger) {
  return () => (entry: LogEntry) => log.debug(`kafkajs ${entry.namespace}: ${entry.log.message}`);
}

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

class KafkajsGroup implements GroupMembership {
  private readonly consumer: Consumer;
  private readonly opts: GroupOptions;
  private readonly log: Logger;

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

  pause(partitions: readonly TopicPartition[]): void {
    this.consumer.pause(byTopic(partitions));
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.consumer.resume(byTopic(partitions));
  }

  commitOffset(topic: string, partition: number, nextOffset: string): Promise<void> {
    return this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
  }

  stop(): Promise<void> {
    // kafkajs waits for the batches in flight before it leaves the group.
    return this.consumer.disconnect();
  }
}

export class KafkajsStreamClient implements StreamClient {
  readonly name = 'kafkajs' as const;
  readonly kafka: Kafka;
  readonly changelogReader: ChangelogReader;
  private readonly opts: KafkajsClientOptions;
  private readonly admin: Admin;
  /** at-least-once shares one idempotent producer; exactly-once gives every lane its own */
  private shared: Producer | undefined;

  constructor(opts: KafkajsClientOptions, groupId: string) {
    this.opts = opts;
    this.kafka = new KafkaClass({ clientId: opts.clientId, brokers: [...opts.brokers], logLevel: logLevel.WARN, logCreator: kafkajsLogger(opts.log), connectionTimeout: 3000, retry: { retries: 8 } });
    this.admin = this.kafka.admin();
    this.changelogReader = new KafkajsChangelogReader(this.kafka, groupId);
  }

  async connect(): Promise<void> {
    await this.admin.connect();
    if (this.opts.guarantee === 'at-least-once') {
      this.shared = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: createJavaCompatiblePartitioner as ICustomPartitioner });
      await this.shared.connect();
    }
  }

  group(opts: GroupOptions): GroupMembership {
    return new KafkajsGroup(this.kafka, opts, this.opts.log);
  }

  laneSink(opts: LaneSinkOptions): LaneSink {
    if (opts.guarantee === 'exactly-once') return new TransactionalLaneSink(this.kafka, { ...opts, compression: this.opts.compression });
    if (this.shared === undefined) throw new Error('at-least-once sink before connect()');
    return new AtLeastOnceLaneSink(kafkajsSender(this.shared, this.opts.compression), (pos) => opts.group.commitOffset(pos.topic, pos.partition, pos.nextOffset), opts);
  }

  async highWatermark(topic: string, partition: number): Promise<string> {
    return (await this.admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition)?.high ?? '0';
  }

  async committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
    const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    const off = res[0]?.partitions.find((x) => x.partition === partition)?.offset;
    return off === undefined || off === '-1' ? undefined : off;
  }

  async close(): Promise<void> {
    await this.shared?.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}
