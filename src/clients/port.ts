// What the engine needs from a Kafka client, so that the client is a choice (`kafka.client`) and
// not a dependency of every module: reaching the brokers, topic provisioning, group membership
// with per-partition fetch control, one sink per lane, reading a changelog partition without a
// group, and offset lookups; for the dlq commands, bounded partition reads and a plain producer. Only src/entry/app.ts picks an implementation; every other
// module sees this file alone, so a process on one client never loads the other. The two
// implementations are kafkajs/client.ts and platformatic/client.ts; both pass the same
// integration tests, crash tests included.
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SluiceError } from '../errors.ts';
import type { ChangelogEntry, RestoreTarget } from '../model/changelog.ts';
import type { InputRecord, OutRecord } from '../model/records.ts';

export type KafkaClientName = 'kafkajs' | 'platformatic';

/**
 * The record batch codecs sluice reads and writes, by the names the config, @platformatic/kafka
 * and Kafka's own `compression.type` use. Here, apart from the codec implementations
 * (kafkajs/codecs.ts), so that the config and the sinks can name a codec without loading native code.
 */
export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];

/** The codec's id in a record batch's attributes (bits 0-2): Kafka's numbering, and kafkajs's CompressionTypes. */
export const COMPRESSION_IDS: Readonly<Record<CompressionName, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** SASL mechanisms both clients speak, by the names kafkajs and the config use. */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * How every connection to the brokers is secured (`kafka.ssl`, `kafka.sasl`), with the secrets
 * already read from their files and variables; src/config/security-schema.ts builds it.
 */
export interface ConnectionSecurity {
  /** TLS for every connection (CA, client certificate and key as PEM); undefined: plaintext */
  tls?: TlsOptions;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface FetchedBatch extends TopicPartition {
  /** data records only, read_committed: aborted and control records are already gone */
  messages: InputRecord[];
  /** records on the broker beyond this batch (the partition's lag after it) */
  lagBeyond: number;
}

export interface GroupHandlers {
  /** after every join: the complete assignment of this member */
  onAssigned(assigned: readonly TopicPartition[]): void;
  /**
   * One partition's fetched batch. Returns the last offset handled, or undefined to have the same
   * records fetched again (a failed or skipped batch). Batches of one partition never overlap.
   * A handler that holds a batch for long must call `heartbeat`: on kafkajs a batch in hand holds
   * the fetch loop, which sends the member's only heartbeats. It rejects when the group is
   * rebalancing or has dropped the member; return soon then, so that the client can rejoin.
   */
  onBatch(batch: FetchedBatch, heartbeat: () => Promise<void>): Promise<string | undefined>;
  /**
   * The group can no longer make progress: a fetched batch cannot be decoded
   * (SLUICE_INPUT_UNREADABLE), or the client's consumer stopped for good. Fetching again would
   * fail the same way, so the process must stop instead of sitting silent (see fatal.ts).
   */
  onFatal(error: SluiceError): void;
}

export interface GroupOptions {
  groupId: string;
  topics: readonly string[];
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
}

export interface GroupMembership {
  start(handlers: GroupHandlers): Promise<void>;
  /** stop fetching these partitions until resumed (backpressure); batches in flight finish */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** the group's own offset commit: at-least-once only (exactly-once commits in the transaction) */
  commitOffset(topic: string, partition: number, nextOffset: string): Promise<void>;
  /** finishes the batches in flight, then leaves the group */
  stop(): Promise<void>;
}

/** A bounded read of one partition, outside any group. */
export interface PartitionReadRequest extends TopicPartition {
  /** first offset to read; undefined = from the earliest */
  fromOffset: string | undefined;
  /**
   * Stop once the read position reaches this offset, e.g. the partition's high watermark read
   * after every producer that could still have a transaction open on it was fenced.
   */
  untilOffset: string;
  /** called every few seconds while the read goes on, e.g. to keep a group membership alive */
  heartbeat?: () => Promise<void>;
  /** how long the partition may stay silent before the read gives up */
  stallTimeoutMs?: number;
}

export interface RestoreRequest extends PartitionReadRequest {
  /** keeps the application's group membership alive during a long restore */
  heartbeat: () => Promise<void>;
}

/** Takes one fetch's records; the next fetch waits until it settles. `next`: the offset after them, control records included. */
export type DeliverRecords = (records: readonly InputRecord[], next: bigint | string) => void | Promise<void>;

export interface PartitionReader {
  /** Hands the partition's committed records (read_committed), in offset order, to `deliver`. */
  read(req: PartitionReadRequest, deliver: DeliverRecords): Promise<void>;
}

/** What a follower reads: partitions of one topic, each from an offset (undefined: the earliest). */
export interface FollowRequest {
  topic: string;
  from: ReadonlyMap<number, string | undefined>;
}

/**
 * A partition's committed records in offset order, and the position after them: control records
 * (transaction markers) count, so `next` may move with no records at all.
 */
export type FollowDeliver = (partition: number, records: readonly ChangelogEntry[], next: bigint) => void;

/** Reads partitions of a topic (read_committed, outside the application's group) until stopped. */
export interface TopicFollower {
  /** settles only if following fails for good; stop() does not settle it */
  readonly failed: Promise<Error>;
  stop(): Promise<void>;
}

export interface ChangelogReader {
  /** Hands the partition's committed records, in offset order, to `target` (state applies them). */
  restore(target: RestoreTarget, req: RestoreRequest): Promise<void>;
}

/** A plain producer for tools such as `sluice dlq replay`: idempotent, acks from all replicas, no transactions. */
export interface RecordProducer {
  /** resolves once every record is acknowledged; records are sent in the order given */
  send(records: readonly OutRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface InputPosition {
  topic: string;
  partition: number;
  /** the next offset to consume, i.e. last processed + 1 */
  nextOffset: string;
}

export interface LaneSink {
  /** Fences any previous owner of the partition. Must finish before the lane reads committed offsets. */
  open(): Promise<void>;
  /**
   * Makes `outputs` and `changelog` visible and commits `position`, atomically under
   * exactly-once. `changelog` holds the state changes behind the outputs, all to the lane's
   * changelog partition. Returns the changelog offset right after its last record, if any.
   */
  commit(outputs: readonly OutRecord[], changelog: readonly OutRecord[], position: InputPosition): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface LaneSinkOptions {
  guarantee: 'exactly-once' | 'at-least-once';
  transactionalId: string;
  groupId: string;
  /** most bytes per produce request: neither client splits one, and the broker caps its size */
  maxBytes: number;
  partition: number;
  /** at-least-once commits the input offset through the group after the outputs are acknowledged */
  group: GroupMembership;
}

/**
 * The broker refused to create topics for a reason waiting cannot change (authorization, policy,
 * replication factor, config): startup reports it at once instead of waiting for someone else's
 * creation to show up.
 */
export class TopicsRefusedError extends Error {}

/** Kafka error codes of a CreateTopics answer that waiting cannot change, by number and name. */
export const REFUSED_CREATE_ERRORS: ReadonlyMap<number, string> = new Map([
  [17, 'INVALID_TOPIC_EXCEPTION'],
  [29, 'TOPIC_AUTHORIZATION_FAILED'],
  [31, 'CLUSTER_AUTHORIZATION_FAILED'],
  [37, 'INVALID_PARTITIONS'],
  [38, 'INVALID_REPLICATION_FACTOR'],
  [39, 'INVALID_REPLICA_ASSIGNMENT'],
  [40, 'INVALID_CONFIG'],
  [44, 'POLICY_VIOLATION'],
]);

/** A topic sluice creates; `configs` are topic-level settings such as cleanup.policy. */
export interface NewTopic {
  topic: string;
  partitions: number;
  configs?: Readonly<Record<string, string>>;
}

/** The broker's topic operations that startup needs; src/sinks/topics.ts decides what to create. */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  /** partition count of each topic asked for that exists */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  /** creates them and waits until their partitions have leaders; rejects if any was not created */
  createTopics(topics: readonly NewTopic[]): Promise<void>;
  /** a topic-level config value as the broker reports it */
  topicConfig(topic: string, name: string): Promise<string | undefined>;
}

/** One per worker: every lane, the group and the restores of that worker share it. */
export interface StreamClient {
  readonly name: KafkaClientName;
  /**
   * One metadata round trip on a connection of its own, without the client's retries: whether
   * the brokers answer now (startup backs off and asks again).
   */
  probe(): Promise<void>;
  /** Connects what the lanes share; call once, after the brokers answered a probe. */
  connect(): Promise<void>;
  /** usable after connect() */
  readonly topics: TopicAdmin;
  group(opts: GroupOptions): GroupMembership;
  laneSink(opts: LaneSinkOptions): LaneSink;
  readonly changelogReader: ChangelogReader;
  /** bounded reads of any partition outside the application's group (the dlq commands) */
  readonly partitionReader: PartitionReader;
  /** a connected producer of its own; the caller closes it */
  producer(): Promise<RecordProducer>;
  /** follows partitions of a topic as they grow: reference tables kept in a topic */
  follow(req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower>;
  /** the partition's log start offset (the earliest still kept), as a decimal string */
  logStartOffset(topic: string, partition: number): Promise<string>;
  /** the partition's high watermark (read_uncommitted end), as a decimal string */
  highWatermark(topic: string, partition: number): Promise<string>;
  /** the group's committed offset for the partition, if it has one */
  committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined>;
  close(): Promise<void>;
}
