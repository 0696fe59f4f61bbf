// What the engine needs from a Kafka client, so that the client is a choice (`kafka.client`) and
// not a dependency of every module: group membership with per-partition fetch control, one sink
// per lane, reading a changelog partition without a group, and two offset lookups. The two
// implementations are kafkajs-client.ts and platformatic-client.ts; both pass the same
// integration tests, crash tests included.
import type { SluiceError } from '../errors.ts';
import type { InputRecord } from '../model/records.ts';
import type { LaneSink } from '../sinks/kafka-sink.ts';
import type { RestoreTarget } from '../state/changelog-restore.ts';

export type KafkaClientName = 'kafkajs' | 'platformatic';

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

export interface RestoreRequest extends TopicPartition {
  /** first changelog offset to read; undefined = from the earliest */
  fromOffset: string | undefined;
  /**
   * Stop once the read position reaches this offset: the partition's high watermark, read after
   * the lane fenced every earlier producer, so no transaction on it is still open.
   */
  untilOffset: string;
  /** keeps the application's group membership alive during a long restore */
  heartbeat: () => Promise<void>;
  /** how long the changelog may stay silent before the restore gives up */
  stallTimeoutMs?: number;
}

export interface ChangelogReader {
  /** Hands the partition's committed records, in offset order, to `target` (state applies them). */
  restore(target: RestoreTarget, req: RestoreRequest): Promise<void>;
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

/** One per worker: every lane, the group and the restores of that worker share it. */
export interface StreamClient {
  readonly name: KafkaClientName;
  group(opts: GroupOptions): GroupMembership;
  laneSink(opts: LaneSinkOptions): LaneSink;
  readonly changelogReader: ChangelogReader;
  /** the partition's high watermark (read_uncommitted end), as a decimal string */
  highWatermark(topic: string, partition: number): Promise<string>;
  /** the group's committed offset for the partition, if it has one */
  committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined>;
  close(): Promise<void>;
}
