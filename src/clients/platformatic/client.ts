// The StreamClient on @platformatic/kafka (see ../port.ts). Group membership, fetch loop and
// changelog reads are sluice's own on the library's raw fetch (membership.ts, fetch-loop.ts,
// fetch.ts, changelog-reader.ts); produce and transactions are the library's (sink.ts); admin.ts
// probes the brokers and provisions topics.
import type { Consumer as PlatformaticConsumer, Producer as PlatformaticProducer } from '@platformatic/kafka';
import type { Logger } from '../../log.ts';
import type { CompressionName } from '../port.ts';
import { AtLeastOnceLaneSink } from '../../sinks/at-least-once.ts';
import type { SentBase } from '../../sinks/records.ts';
import { SerialIdempotentSender } from '../serial-sender.ts';
import { PlatformaticTransactionalLaneSink, platformaticRetryDelay, sentBases, toMessage } from './sink.ts';
import { PlatformaticTopicAdmin, platformaticAdmin, probeBrokers } from './admin.ts';
import { securityFailure } from '../connection-errors.ts';
import { PlatformaticChangelogReader } from './changelog-reader.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { fetchKey } from './fetch.ts';
import { platformaticKafka } from './loader.ts';
import { PlatformaticGroup } from './membership.ts';
import type { ChangelogReader, FollowDeliver, FollowRequest, GroupMembership, GroupOptions, LaneSink, LaneSinkOptions, PartitionReader, RecordProducer, StreamClient, TopicFollower, TopicPartition } from '../port.ts';
import { followOnPlatformatic } from './topic-follower.ts';

const { Consumer, FetchIsolationLevels, ListOffsetTimestamps, Producer, compatibilityPartitioner } = platformaticKafka;
type Consumer = PlatformaticConsumer;
type Producer = PlatformaticProducer;

export interface PlatformaticClientOptions extends PlatformaticConnection {
  guarantee: 'exactly-once' | 'at-least-once';
  log: Logger;
  /** of everything the lane sinks produce (`output.compression`) */
  compression?: CompressionName;
}

/** A shared idempotent producer's sends: never overlapping, and a new producer after a failure (src/clients/serial-sender.ts). */
function platformaticSharedSender(create: () => Producer): SerialIdempotentSender<SentBase[]> {
  return new SerialIdempotentSender(async () => {
    const producer = create();
    return { send: async (records) => sentBases(await producer.send({ messages: records.map(toMessage), acks: -1 })), close: () => producer.close() };
  });
}

export class PlatformaticStreamClient implements StreamClient {
  readonly name = 'platformatic' as const;
  readonly changelogReader: ChangelogReader;
  readonly partitionReader: PartitionReader;
  readonly topics: PlatformaticTopicAdmin;
  private readonly opts: PlatformaticClientOptions;
  private readonly groupId: string;
  /** never joins the group: offset lookups only */
  private readonly offsets: Consumer;
  /** at-least-once shares one idempotent producer; exactly-once gives every lane its own */
  private shared: SerialIdempotentSender<SentBase[]> | undefined;

  constructor(opts: PlatformaticClientOptions, groupId: string) {
    this.opts = opts;
    this.groupId = groupId;
    this.offsets = new Consumer({ ...connectionOptions(opts, 'offsets'), groupId, retries: 8, retryDelay: platformaticRetryDelay });
    this.topics = new PlatformaticTopicAdmin(platformaticAdmin(opts, 8));
    const reader = new PlatformaticChangelogReader(opts, async (topic, partition) => BigInt(await this.logStartOffset(topic, partition)));
    this.changelogReader = reader;
    this.partitionReader = reader;
  }

  private idempotentProducer(): Producer {
    return new Producer({
      ...connectionOptions(this.opts, 'producer'),
      idempotent: true,
      retries: 8,
      retryDelay: platformaticRetryDelay,
      partitioner: compatibilityPartitioner,
      autocreateTopics: false,
      compression: this.opts.compression ?? 'none',
    });
  }

  async probe(): Promise<void> {
    await probeBrokers(this.opts).catch((err: unknown) => {
      throw securityFailure(err, this.opts.brokers, this.opts.security) ?? err;
    });
  }

  async connect(): Promise<void> {
    await this.offsets.metadata({ topics: [] });
    if (this.opts.guarantee === 'at-least-once') {
      this.shared = platformaticSharedSender(() => this.idempotentProducer());
    }
  }

  group(opts: GroupOptions): GroupMembership {
    return new PlatformaticGroup({ ...opts, brokers: this.opts.brokers, clientId: this.opts.clientId, security: this.opts.security, startOffsets: (parts) => this.logStarts(parts), log: this.opts.log });
  }

  laneSink(opts: LaneSinkOptions): LaneSink {
    if (opts.guarantee === 'exactly-once') {
      return new PlatformaticTransactionalLaneSink({ brokers: this.opts.brokers, clientId: `${this.opts.clientId}-${opts.partition}`, security: this.opts.security, transactionalId: opts.transactionalId, groupId: opts.groupId, maxBytes: opts.maxBytes, partition: opts.partition, compression: this.opts.compression });
    }
    if (this.shared === undefined) throw new Error('at-least-once sink before connect()');
    return new AtLeastOnceLaneSink(this.shared.send, (pos) => opts.group.commitOffset(pos.topic, pos.partition, pos.nextOffset), opts);
  }

  private async listOffsets(parts: readonly TopicPartition[], timestamp: bigint): Promise<Map<string, bigint>> {
    const partitions: Record<string, number[]> = {};
    for (const { topic, partition } of parts) (partitions[topic] ??= []).push(partition);
    const found = await this.offsets.listOffsets({ topics: Object.keys(partitions), partitions, timestamp, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED });
    const result = new Map<string, bigint>();
    for (const { topic, partition } of parts) {
      const offset = found.get(topic)?.[partition];
      if (offset !== undefined) result.set(fetchKey(topic, partition), offset);
    }
    return result;
  }

  private logStarts(parts: readonly TopicPartition[]): Promise<Map<string, bigint>> {
    return this.listOffsets(parts, ListOffsetTimestamps.EARLIEST);
  }

  async producer(): Promise<RecordProducer> {
    const sender = platformaticSharedSender(() => this.idempotentProducer());
    return { send: async (records) => void (await sender.send(records)), close: () => sender.close() };
  }

  follow(req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower> {
    return followOnPlatformatic(this.opts, async (topic, partition) => BigInt(await this.logStartOffset(topic, partition)), req, deliver);
  }

  async logStartOffset(topic: string, partition: number): Promise<string> {
    return ((await this.logStarts([{ topic, partition }])).get(fetchKey(topic, partition)) ?? 0n).toString();
  }

  async highWatermark(topic: string, partition: number): Promise<string> {
    return ((await this.listOffsets([{ topic, partition }], ListOffsetTimestamps.LATEST)).get(fetchKey(topic, partition)) ?? 0n).toString();
  }

  async committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
    if (groupId !== this.groupId) throw new Error(`offsets of group ${groupId} asked of the client for ${this.groupId}`);
    const offset = (await this.offsets.listCommittedOffsets({ topics: [{ topic, partitions: [partition] }] })).get(topic)?.[partition];
    return offset === undefined || offset < 0n ? undefined : offset.toString();
  }

  async close(): Promise<void> {
    await this.shared?.close();
    await this.offsets.close(true).catch(() => undefined);
    await this.topics.close().catch(() => undefined);
  }
}
