// The StreamClient on kafkajs (see ../port.ts): group.ts for membership, sink.ts for the lane
// sinks, changelog-reader.ts for restores, admin.ts for the probe and topic provisioning.
import type { Admin, ICustomPartitioner, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../../log.ts';
import type { CompressionName, ConnectionSecurity } from '../port.ts';
import { securityFailure } from '../connection-errors.ts';
import { KafkajsChangelogReader } from './changelog-reader.ts';
import { AtLeastOnceLaneSink } from '../../sinks/at-least-once.ts';
import { TransactionalLaneSink, kafkajsSharedSender } from './sink.ts';
import type { SerialIdempotentSender } from '../serial-sender.ts';
import type { SentBase } from '../../sinks/records.ts';
import { KafkajsTopicAdmin, kafkajsClient, probeBrokers } from './admin.ts';
import { KafkajsGroup } from './group.ts';
import { followOnKafkajs } from './topic-follower.ts';
import { createJavaCompatiblePartitioner } from './partitioner.ts';
import type { ChangelogReader, FollowDeliver, FollowRequest, GroupMembership, GroupOptions, LaneSink, LaneSinkOptions, PartitionReader, RecordProducer, StreamClient, TopicFollower } from '../port.ts';

export interface KafkajsClientOptions {
  brokers: readonly string[];
  clientId: string;
  guarantee: 'exactly-once' | 'at-least-once';
  log: Logger;
  /** of everything the lane sinks produce (`output.compression`) */
  compression?: CompressionName;
  /** TLS and SASL of every connection (`kafka.ssl`, `kafka.sasl`) */
  security?: ConnectionSecurity;
}

export class KafkajsStreamClient implements StreamClient {
  readonly name = 'kafkajs' as const;
  readonly kafka: Kafka;
  readonly changelogReader: ChangelogReader;
  readonly partitionReader: PartitionReader;
  private readonly opts: KafkajsClientOptions;
  private readonly admin: Admin;
  private readonly groupId: string;
  readonly topics: KafkajsTopicAdmin;
  /** at-least-once shares one idempotent producer; exactly-once gives every lane its own */
  private shared: SerialIdempotentSender<SentBase[]> | undefined;

  constructor(opts: KafkajsClientOptions, groupId: string) {
    this.opts = opts;
    this.kafka = kafkajsClient(opts, 8);
    this.admin = this.kafka.admin();
    // An admin of its own, as before the port had provisioning: the offset lookups' admin then
    // never holds metadata cached while the topics it creates were still electing leaders.
    this.topics = new KafkajsTopicAdmin(this.kafka.admin());
    this.groupId = groupId;
    const reader = new KafkajsChangelogReader(this.kafka, groupId);
    this.changelogReader = reader;
    this.partitionReader = reader;
  }

  private idempotentProducer(): Producer {
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: createJavaCompatiblePartitioner as ICustomPartitioner });
  }

  async probe(): Promise<void> {
    await probeBrokers(kafkajsClient(this.opts, 0)).catch((err: unknown) => {
      throw securityFailure(err, this.opts.brokers, this.opts.security) ?? err;
    });
  }

  async connect(): Promise<void> {
    await this.admin.connect();
    await this.topics.connect();
    if (this.opts.guarantee === 'at-least-once') {
      this.shared = kafkajsSharedSender(() => this.idempotentProducer(), this.opts.compression);
      await this.shared.connect();
    }
  }

  group(opts: GroupOptions): GroupMembership {
    return new KafkajsGroup(this.kafka, opts, this.opts.log);
  }

  laneSink(opts: LaneSinkOptions): LaneSink {
    if (opts.guarantee === 'exactly-once') return new TransactionalLaneSink(this.kafka, { ...opts, compression: this.opts.compression });
    if (this.shared === undefined) throw new Error('at-least-once sink before connect()');
    return new AtLeastOnceLaneSink(this.shared.send, (pos) => opts.group.commitOffset(pos.topic, pos.partition, pos.nextOffset), opts);
  }

  async producer(): Promise<RecordProducer> {
    const sender = kafkajsSharedSender(() => this.idempotentProducer(), this.opts.compression);
    await sender.connect();
    return { send: async (records) => void (await sender.send(records)), close: () => sender.close() };
  }

  follow(req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower> {
    return followOnKafkajs(this.kafka, this.groupId, req, deliver);
  }

  async logStartOffset(topic: string, partition: number): Promise<string> {
    return (await this.admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition)?.low ?? '0';
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
    await this.shared?.close();
    await this.admin.disconnect().catch(() => undefined);
    await this.topics.disconnect();
  }
}
