// The exactly-once LaneSink of src/clients/kafkajs/sink.ts on @platformatic/kafka instead of kafkajs:
// one transactional producer per input partition, fencing by transactional id, and the input
// offset committed inside the transaction with the group id only (the group itself is run by
// another client, so there is no generation or member id to send; the broker accepts that for a
// transactional commit, as it does from kafkajs's sendOffsets).
import type { Consumer, Message, MessageToProduce, ProduceResult, Producer as PlatformaticProducer, RetryDelayGetter } from '@platformatic/kafka';
import { TaskMigratedError, sluiceError } from '../../errors.ts';
import type { CompressionName } from '../port.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { platformaticKafka } from './loader.ts';
import { FENCED_ERRORS } from '../fenced.ts';
import type { InputPosition, LaneSink } from '../port.ts';
import { changelogEnd, chunkBatch } from '../../sinks/records.ts';
import type { OutRecord } from '../../model/records.ts';
import type { SentBase } from '../../sinks/records.ts';

const { Admin, FindCoordinatorKeyTypes, Producer, compatibilityPartitioner, findErrorBy } = platformaticKafka;
type Producer = PlatformaticProducer;

export interface PlatformaticSinkOptions extends PlatformaticConnection {
  transactionalId: string;
  groupId: string;
  /** most bytes per produce request: neither client splits one, and the broker caps its size */
  maxBytes: number;
  partition: number;
  transactionTimeoutMs?: number;
  /** of every batch it produces; the library names the codecs as sluice's config does */
  compression?: CompressionName;
}

// The library wraps broker errors in MultipleErrors (one per retry, or one per partition of a
// response), so the id we are looking for can sit anywhere in that tree.
function isFenced(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 8) return false;
  const e = err as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.apiId === 'string' && FENCED_ERRORS.has(e.apiId)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isFenced(x, depth + 1))) return true;
  return isFenced(e.cause, depth + 1);
}

// The library waits 1s between retries by default. After a commit the coordinator still writes
// the markers, and the next transaction's AddPartitionsToTxn gets CONCURRENT_TRANSACTIONS until
// it is done (milliseconds): retrying that after a second would halve throughput.
export const platformaticRetryDelay: RetryDelayGetter = (_client, _op, attempt, _retries, error) =>
  findErrorBy(error, 'apiId', 'CONCURRENT_TRANSACTIONS') ? Math.min(10 * 2 ** attempt, 500) : Math.min(100 * 2 ** attempt, 3000);

/** not exported by the package */
type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

const toBuffer = (v: string | Buffer | null): Buffer | undefined => (v === null ? undefined : typeof v === 'string' ? Buffer.from(v) : v);

// The library measures a string key or value by its length in characters, not bytes, so
// everything goes over as Buffers (null stays null: changelog tombstones).
export function toMessage(r: OutRecord): MessageToProduce {
  const headers = new Map<Buffer, Buffer>();
  // Keys are compared by identity, so a repeated header is one entry per occurrence.
  if (r.headers) for (const k in r.headers) for (const v of [r.headers[k]!].flat()) headers.set(Buffer.from(k), toBuffer(v)!);
  const message: MessageToProduce = { topic: r.topic, partition: r.partition, key: toBuffer(r.key), value: toBuffer(r.value), headers };
  if (r.timestamp !== undefined) message.timestamp = BigInt(r.timestamp);
  return message;
}

/** Where a send put its first record per topic-partition, in the shape both clients' sinks share. */
export function sentBases(result: ProduceResult): SentBase[] {
  return (result.offsets ?? []).map((o) => ({ topic: o.topic, partition: o.partition, baseOffset: o.offset.toString() }));
}

export class PlatformaticTransactionalLaneSink implements LaneSink {
  private readonly producer: Producer;
  private readonly opts: PlatformaticSinkOptions;
  /** the group coordinator's node id: TxnOffsetCommit must go there, and the producer cannot look it up */
  private coordinatorId: number | undefined;
  private fenced = false;
  /** a transaction failed: the producer's sequence numbers may be out of step with the broker's */
  private failed = false;

  constructor(opts: PlatformaticSinkOptions) {
    this.opts = opts;
    this.producer = new Producer({
      ...connectionOptions(opts),
      transactionalId: opts.transactionalId,
      idempotent: true,
      // Sent as InitProducerId's transaction timeout (and as the produce timeout): the library
      // has no separate option for it.
      timeout: opts.transactionTimeoutMs ?? 60_000,
      // Idempotent producers otherwise retry forever (MAX_SAFE_INTEGER): a dead broker would hang
      // the lane instead of failing the batch.
      retries: 8,
      retryDelay: platformaticRetryDelay,
      // Same partitions as kafkajs for keyed records; the library's default partitioner differs
      // from Java's for keys whose murmur2 hash is negative.
      partitioner: compatibilityPartitioner,
      autocreateTopics: false,
      compression: opts.compression ?? 'none',
    });
  }

  async open(): Promise<void> {
    try {
      const admin = new Admin({ ...connectionOptions(this.opts, 'coordinator'), retries: 8, retryDelay: platformaticRetryDelay });
      try {
        const [coordinator] = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [this.opts.groupId] });
        this.coordinatorId = coordinator?.nodeId;
      } finally {
        await admin.close().catch(() => undefined);
      }
      // The first transaction sends InitProducerId: the coordinator bumps the epoch, finishes
      // whatever the previous owner left open, and from then on rejects that owner. The library
      // sends producer id 0 / epoch 0 unless told otherwise, which the broker reads as "bump the
      // epoch of producer 0" and answers with PRODUCER_FENCED for any id it has seen before;
      // -1 / -1 asks for a plain initialization. Nothing goes to the broker on cancel().
      const txn = await this.producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await txn.cancel();
    } catch (err) {
      // A failed beginTransaction stays registered on the producer and would block the next one.
      await this.producer.transaction?.cancel().catch(() => undefined);
      throw this.classify(err);
    }
  }

  async commit(outputs: readonly OutRecord[], changelog: readonly OutRecord[], position: InputPosition): Promise<string | undefined> {
    const { partition } = this.opts;
    // After fencing the library forgets its producer id, and the next beginTransaction would send
    // InitProducerId again, fencing the new owner in turn: only open() may initialize.
    if (this.fenced || (this.coordinatorId !== undefined && this.producer.producerId === undefined)) throw new TaskMigratedError(partition);
    if (this.coordinatorId === undefined) throw sluiceError('SLUICE_INTERNAL', `sink for partition ${partition} committed before open()`);
    // The library counts a send's sequence numbers before the broker accepts it and does not roll
    // them back on abort, so after a failed send every later one gets OUT_OF_ORDER_SEQUENCE_NUMBER.
    // The lane reopens with a new sink; this one must not pretend otherwise.
    if (this.failed) throw sluiceError('SLUICE_KAFKA', `sink for partition ${partition} is unusable after a failed transaction; open a new one`);
    let txn: Transaction | undefined;
    try {
      txn = await this.producer.beginTransaction();
      let end: string | undefined;
      // Sequential on purpose: one transaction per producer, one request at a time.
      for (const chunk of chunkBatch(outputs, changelog, this.opts.maxBytes)) {
        const result = await txn.send({ messages: chunk.records.map(toMessage) });
        end = changelogEnd(chunk, sentBases(result)) ?? end;
      }
      // addConsumer only reads the group id (AddOffsetsToTxn); addOffset sends TxnOffsetCommit for
      // one message, committing its offset + 1, to the coordinator named in its metadata.
      await txn.addConsumer({ groupId: this.opts.groupId } as Pick<Consumer, 'groupId'> as Consumer);
      const consumer = { groupId: this.opts.groupId, generationId: -1, memberId: '', coordinatorId: this.coordinatorId };
      await txn.addOffset({ topic: position.topic, partition: position.partition, offset: BigInt(position.nextOffset) - 1n, metadata: { consumer } } as Partial<Message> as Message);
      await txn.commit();
      // The commit leaves one marker right after our last record (only this lane writes to the
      // partition), so the partition's end, which the next open compares with, is one further.
      return end === undefined ? undefined : (BigInt(end) + 1n).toString();
    } catch (err) {
      const error = this.classify(err);
      this.failed = true;
      // A failed beginTransaction leaves its transaction registered on the producer, unreturned.
      const active = txn ?? this.producer.transaction;
      if (active && !this.fenced) await active.abort().catch(() => active.cancel().catch(() => undefined));
      throw error;
    }
  }

  private classify(err: unknown): Error {
    const { partition } = this.opts;
    if (isFenced(err)) {
      this.fenced = true;
      return new TaskMigratedError(partition, undefined, { cause: err });
    }
    return sluiceError('SLUICE_KAFKA', `transaction for partition ${partition} failed: ${(err as Error).message}`, { cause: err });
  }

  async close(): Promise<void> {
    await this.producer.close(true).catch(() => undefined);
  }
}
