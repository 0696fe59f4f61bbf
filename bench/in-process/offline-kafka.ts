// kafkajs without a broker, for the hot path. A lane's sink is sluice's own TransactionalLaneSink;
// only the kafkajs `Kafka` it is handed is a stand-in, whose transactional producers do what
// kafkajs's producer does for a send up to the socket (the sink's partitioner, the grouping per
// partition, the produce request with its record batches, encoded, with sluice's kafkajs patches
// in place) and then count the bytes instead of writing them. Offsets advance as a broker's would,
// a commit marker included, so the sink's changelog positions are real ones.
import { createRequire } from 'node:module';
import type { CompressionTypes, Kafka, Message, PartitionerArgs, ProducerConfig, TopicMessages } from 'kafkajs';
// First: sluice's kafkajs patches must be in place before any kafkajs module loads.
import '../../src/clients/kafkajs/loader.ts';
import { TransactionalLaneSink } from '../../src/clients/kafkajs/sink.ts';
import type { CompressionName, StreamClient } from '../../src/clients/port.ts';

type Partitioner = (args: PartitionerArgs) => number;
type TopicData = { topic: string; partitions: { partition: number; firstSequence?: number; messages: Message[] }[] };
type SendResult = { topicName: string; partition: number; baseOffset: string }[];

const require = createRequire(import.meta.url);
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (args: Omit<PartitionerArgs, 'message'> & { messages: Message[]; partitioner: Partitioner }) => Record<number, Message[]>;
const createTopicData = require('kafkajs/src/producer/createTopicData.js') as (data: { topic: string; partitions: number[]; messagesPerPartition: Record<number, Message[]> }[]) => TopicData[];
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: {
  acks: number;
  timeout: number;
  transactionalId: string | null;
  compression?: CompressionTypes;
  topicData: TopicData[];
}) => { encode(): Promise<{ buffer: Buffer }> };

/** kafkajs's default produce timeout */
const PRODUCE_TIMEOUT_MS = 30_000;

export class OfflineKafka {
  /** bytes of every produce request encoded so far */
  bytes = 0;
  /** records produced so far, to every topic */
  records = 0;
  private readonly partitionMetadata: PartitionerArgs['partitionMetadata'];
  private readonly nextOffsets = new Map<string, number>();

  /** `partitions`: of every topic, as sluice's internal topics have the input's count */
  constructor(partitions: number) {
    this.partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  }

  /** A StreamClient whose lanes commit exactly-once through TransactionalLaneSink on this Kafka. */
  client(compression: CompressionName | undefined): StreamClient {
    const unused = (what: string) => () => {
      throw new Error(`the hot path has no ${what}: it feeds its lanes fresh stores itself`);
    };
    return {
      name: 'kafkajs',
      // What KafkajsStreamClient.laneSink does for exactly-once, on this Kafka.
      laneSink: (opts) => new TransactionalLaneSink(this as unknown as Kafka, { ...opts, compression }),
      probe: unused('broker to probe'),
      connect: unused('shared producer to connect'),
      topics: { listTopics: unused('topics'), partitionCounts: unused('topics'), createTopics: unused('topics'), topicConfig: unused('topics') },
      group: unused('consumer group'),
      changelogReader: { restore: unused('changelog to restore') },
      partitionReader: { read: unused('partition to read') },
      producer: unused('plain producer'),
      follow: unused('table topic to follow'),
      logStartOffset: unused('log start'),
      highWatermark: async () => '0',
      committedOffset: async () => undefined,
      close: async () => undefined,
    };
  }

  /** The part of kafkajs's producer TransactionalLaneSink uses. */
  producer(config: ProducerConfig) {
    if (config.createPartitioner === undefined) throw new Error('sluice sinks bring their partitioner');
    const partitioner = config.createPartitioner();
    const transactionalId = config.transactionalId ?? null;
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      transaction: async () => this.transaction(transactionalId, partitioner),
    };
  }

  private transaction(transactionalId: string | null, partitioner: Partitioner) {
    const written = new Set<string>();
    return {
      sendBatch: async (batch: { topicMessages: TopicMessages[]; acks: number; compression?: CompressionTypes }): Promise<SendResult> => {
        const topicData = batch.topicMessages.map(({ topic, messages }) => this.topicData(topic, messages, partitioner));
        const request = produceRequest({ acks: batch.acks, timeout: PRODUCE_TIMEOUT_MS, transactionalId, compression: batch.compression, topicData });
        this.bytes += (await request.encode()).buffer.length;
        return topicData.flatMap(({ topic, partitions }) =>
          partitions.map(({ partition, messages }) => {
            written.add(`${topic}/${partition}`);
            this.records += messages.length;
            return { topicName: topic, partition, baseOffset: String(this.append(`${topic}/${partition}`, messages.length)) };
          }),
        );
      },
      sendOffsets: async () => undefined,
      // The commit marker takes an offset in every partition the transaction wrote to.
      commit: async () => {
        for (const tp of written) this.append(tp, 1);
      },
      abort: async () => undefined,
    };
  }

  private topicData(topic: string, messages: Message[], partitioner: Partitioner): TopicData {
    const messagesPerPartition = groupMessagesPerPartition({ topic, partitionMetadata: this.partitionMetadata, messages, partitioner });
    const [data] = createTopicData([{ topic, partitions: Object.keys(messagesPerPartition).map(Number), messagesPerPartition }]);
    for (const p of data!.partitions) p.firstSequence = 0;
    return data!;
  }

  /** Appends `n` offsets to a topic-partition; returns the first. */
  private append(topicPartition: string, n: number): number {
    const base = this.nextOffsets.get(topicPartition) ?? 0;
    this.nextOffsets.set(topicPartition, base + n);
    return base;
  }
}
