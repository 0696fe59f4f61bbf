// kafkajs's lane sinks. Exactly-once: one transactional producer per input partition, so a new
// owner of the partition fences the old one (kafkajs has no KIP-447, so fencing is by
// transactional id, not by generation). At-least-once: kafkajsSharedSender under the client-neutral
// AtLeastOnceLaneSink (src/sinks/at-least-once.ts).
import type { CompressionTypes, ICustomPartitioner, Kafka, Producer, TopicMessages } from 'kafkajs';
import { TaskMigratedError, sluiceError } from '../../errors.ts';
import { COMPRESSION_IDS } from '../port.ts';
import type { CompressionName } from '../port.ts';
import { createJavaCompatiblePartitioner } from './partitioner.ts';
import { changelogEnd, chunkBatch } from '../../sinks/records.ts';
import type { OutRecord } from '../../model/records.ts';
import type { SentBase } from '../../sinks/records.ts';
import { FENCED_ERRORS } from '../fenced.ts';
import { SerialIdempotentSender } from '../serial-sender.ts';
import type { InputPosition, LaneSink } from '../port.ts';

/**
 * Retries of a transactional producer. After EndTxn the coordinator still writes the commit
 * markers, and the next transaction's AddPartitionsToTxn gets CONCURRENT_TRANSACTIONS for the few
 * milliseconds that takes; kafkajs's default first retry is 300 ms, which every few transactions
 * put 300 ms into the latency of a whole batch. Start at 10 ms and back off exponentially
 * instead: the same ten retries span about 10 s. The ceiling's pass-through uses it too.
 */
export const TRANSACTIONAL_RETRY = { initialRetryTime: 10, maxRetryTime: 5000, retries: 10 } as const;

function isFenced(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause) {
    const type = (e as { type?: string }).type;
    if (type !== undefined && FENCED_ERRORS.has(type)) return true;
    if (/fenced|INVALID_PRODUCER_EPOCH/i.test(String((e as Error).message))) return true;
  }
  return false;
}

function toTopicMessages(records: readonly OutRecord[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const r of records) {
    let tm = byTopic.get(r.topic);
    if (!tm) byTopic.set(r.topic, (tm = { topic: r.topic, messages: [] }));
    tm.messages.push({ key: r.key, value: r.value, partition: r.partition, headers: r.headers, timestamp: r.timestamp });
  }
  return [...byTopic.values()];
}

type SendResult = { topicName: string; partition: number; baseOffset?: string }[];

/** kafkajs's per-request compression option (its CompressionTypes are Kafka's codec ids) */
export function kafkajsCompression(name: CompressionName | undefined): CompressionTypes {
  return COMPRESSION_IDS[name ?? 'none'] as CompressionTypes;
}

function sentBases(result: SendResult): SentBase[] {
  return result.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset ?? '-1' }));
}

/**
 * Every partition a send wrote to must be in its answer. kafkajs keeps the answers of a send per
 * broker across its retries: when a partition's leader moves to a broker that already answered
 * for other partitions, the partition is not sent again and the send resolves without it
 * (tulios/kafkajs#1303). Failing the send instead turns a silent loss into a retried batch (an
 * at-least-once lane, POST /events: 503) or an aborted transaction. Checked for the records
 * sent to an explicit partition, which every changelog and partials record is, and every result
 * with output.partitioning: input; a keyed record's partition is kafkajs's choice, unknown here,
 * and not checked.
 */
function checkAllAnswered(records: readonly OutRecord[], sent: readonly SentBase[]): void {
  // By topic, then partition: a string key per record cost 0.5 kB per event on the hot path.
  const answered = new Map<string, Set<number>>();
  for (const b of sent) {
    let partitions = answered.get(b.topic);
    if (partitions === undefined) answered.set(b.topic, (partitions = new Set()));
    partitions.add(b.partition);
  }
  for (const r of records) {
    if (r.partition !== undefined && answered.get(r.topic)?.has(r.partition) !== true) throw sluiceError('SLUICE_KAFKA', `the brokers answered the send without partition ${r.topic}/${r.partition}`);
  }
}

export class TransactionalLaneSink implements LaneSink {
  private readonly producer: Producer;
  private readonly groupId: string;
  private readonly maxBytes: number;
  private readonly partition: number;
  private readonly compression: CompressionTypes;

  constructor(kafka: Kafka, opts: { transactionalId: string; groupId: string; maxBytes: number; partition: number; transactionTimeoutMs?: number; compression?: CompressionName }) {
    this.producer = kafka.producer({
      transactionalId: opts.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: opts.transactionTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
      createPartitioner: createJavaCompatiblePartitioner as ICustomPartitioner,
      retry: TRANSACTIONAL_RETRY,
    });
    this.groupId = opts.groupId;
    this.maxBytes = opts.maxBytes;
    this.partition = opts.partition;
    this.compression = kafkajsCompression(opts.compression);
  }

  async open(): Promise<void> {
    await this.producer.connect();
    // The first transaction() sends InitProducerId: the coordinator bumps the epoch, aborts (or
    // completes) whatever the previous owner left open, and from then on rejects that owner.
    const txn = await this.producer.transaction();
    await txn.abort();
  }

  async commit(outputs: readonly OutRecord[], changelog: readonly OutRecord[], position: InputPosition): Promise<string | undefined> {
    let txn;
    try {
      txn = await this.producer.transaction();
    } catch (err) {
      throw this.classify(err);
    }
    try {
      let end: string | undefined;
      for (const chunk of chunkBatch(outputs, changelog, this.maxBytes)) {
        const sent = sentBases((await txn.sendBatch({ topicMessages: toTopicMessages(chunk.records), acks: -1, compression: this.compression })) as SendResult);
        // A record left out would be missing from a committed transaction: abort instead.
        checkAllAnswered(chunk.records, sent);
        end = changelogEnd(chunk, sent) ?? end;
      }
      await txn.sendOffsets({
        consumerGroupId: this.groupId,
        topics: [{ topic: position.topic, partitions: [{ partition: position.partition, offset: position.nextOffset }] }],
      });
      await txn.commit();
      // The commit leaves one marker right after our last record (only this lane writes to the
      // partition), so the partition's end, which the next open compares with, is one further.
      return end === undefined ? undefined : (BigInt(end) + 1n).toString();
    } catch (err) {
      if (!isFenced(err)) await txn.abort().catch(() => undefined);
      throw this.classify(err);
    }
  }

  private classify(err: unknown): Error {
    if (isFenced(err)) return new TaskMigratedError(this.partition, undefined, { cause: err });
    return sluiceError('SLUICE_KAFKA', `transaction for partition ${this.partition} failed: ${(err as Error).message}`, { cause: err });
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}

/**
 * kafkajs's BatchSender on an idempotent producer shared by several callers (the at-least-once
 * lanes, POST /events): sends never overlap and a failed send retires its producer (see
 * src/clients/serial-sender.ts for why). `create` makes an unconnected producer.
 */
export function kafkajsSharedSender(create: () => Producer, compression?: CompressionName): SerialIdempotentSender<SentBase[]> {
  const codec = kafkajsCompression(compression);
  return new SerialIdempotentSender(async () => {
    const producer = create();
    try {
      await producer.connect();
    } catch (err) {
      // connect() opens the connections before it asks for a producer id, which may fail.
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    return {
      send: async (records) => {
        const sent = sentBases((await producer.sendBatch({ topicMessages: toTopicMessages(records), acks: -1, compression: codec })) as SendResult);
        checkAllAnswered(records, sent);
        return sent;
      },
      close: () => producer.disconnect(),
    };
  });
}
