// Fetching on @platformatic/kafka without its MessagesStream. The stream pauses only as a whole,
// cannot seek, needs a group, and its read_committed filter lets aborted records through when
// one producer aborts twice within a fetch, and drops committed ones when a producer's later abort
// is of a transaction that wrote nothing to the partition. The consumer's raw fetch has none of
// those limits once loader.ts has switched that filter off there too, so sluice reads record
// batches itself and drops aborted transactions as the Java client does.
import type { Consumer, RecordsBatch } from '@platformatic/kafka';
import { sluiceError } from '../../errors.ts';
import type { SluiceError } from '../../errors.ts';
import type { InputHeaders, InputRecord } from '../../model/records.ts';
import { findInErrorTree, findUnreadable, unreadableBatch } from '../fatal.ts';
import { platformaticKafka } from './loader.ts';

/** not exported by the package */
type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type FetchRequestPartition = Parameters<Consumer['fetch']>[0]['topics'][number]['partitions'][number];

const { FetchIsolationLevels } = platformaticKafka;

// Record batch attribute bits (KIP-98).
const TIMESTAMP_LOG_APPEND = 0x08;
const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;

const OFFSET_OUT_OF_RANGE = 1;

interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

const NO_ABORTS: readonly AbortedTransaction[] = [];

/** As kafkajs delivers them: a header repeated on the wire becomes an array, in order. */
function toHeaders(pairs: readonly [Buffer | null, Buffer | null][]): InputHeaders | undefined {
  if (pairs.length === 0) return undefined;
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const [k, v] of pairs) {
    if (k === null) continue;
    const name = k.toString();
    const value = v ?? Buffer.alloc(0);
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

/**
 * Appends the committed data records at or after `from` to `out`; returns the offset after the
 * last batch seen (control batches included, so the position moves past trailing markers).
 * The broker lists aborted transactions in the order they were aborted; walking them by first
 * offset and closing each at its producer's abort marker is the Java client's algorithm.
 */
export function committedRecords(batches: readonly RecordsBatch[] | null | undefined, aborted: readonly AbortedTransaction[] | null, from: bigint, out: InputRecord[]): bigint {
  let next = from;
  if (!batches) return next;
  const pending = aborted && aborted.length > 0 ? [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0)) : NO_ABORTS;
  let p = 0;
  const aborting = new Set<bigint>();
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last < from) continue;
    while (p < pending.length && pending[p]!.firstOffset <= last) aborting.add(pending[p++]!.producerId);
    next = last + 1n;
    if (batch.attributes & IS_CONTROL) {
      // A control batch holds one marker; its key is (version, type) and type 0 is ABORT.
      const key = batch.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === 0) aborting.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & IS_TRANSACTIONAL && aborting.has(batch.producerId)) continue;
    const appendTime = (batch.attributes & TIMESTAMP_LOG_APPEND) !== 0;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue;
      const timestamp = appendTime ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta;
      out.push({ offset: offset.toString(), key: r.key, value: r.value, timestamp: timestamp.toString(), headers: toHeaders(r.headers) });
    }
  }
  return next;
}

export interface FetchItem {
  topic: string;
  partition: number;
  offset: bigint;
}

export type FetchOutcome =
  | { kind: 'records'; records: InputRecord[]; next: bigint; lastStable: bigint }
  /** the offset is gone (retention) or beyond the end */
  | { kind: 'out-of-range' }
  /** leader moved, broker unreachable, ...: metadata is refreshed, fetch again later */
  | { kind: 'retry'; reason: string }
  /** a batch at this offset cannot be decoded: fetching it again fails the same way (SLUICE_INPUT_UNREADABLE) */
  | { kind: 'unreadable'; error: SluiceError };

export const fetchKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** A codec failure (tagged by platformatic.ts), or a codec id the library does not know. */
function unreadableIn(err: unknown): SluiceError | undefined {
  const unknownCodec = findInErrorTree(err, (e) => (e as { code?: unknown }).code === 'PLT_KFK_UNSUPPORTED_COMPRESSION');
  return findUnreadable(err) ?? (unknownCodec === undefined ? undefined : unreadableBatch('unknown', unknownCodec));
}

export class PartitionFetcher {
  private readonly consumer: Consumer;
  private readonly maxBytesPerPartition: number;
  private staleMetadata = false;

  /** `consumer` should not retry (retries: 0): a failed fetch comes back as a 'retry' outcome */
  constructor(consumer: Consumer, opts: { maxBytesPerPartition: number }) {
    this.consumer = consumer;
    this.maxBytesPerPartition = opts.maxBytesPerPartition;
  }

  /** One read_committed fetch per leader, concurrently; an outcome for every item. */
  async fetch(items: readonly FetchItem[], maxWaitMs: number): Promise<Map<string, FetchOutcome>> {
    const outcomes = new Map<string, FetchOutcome>();
    const topics = [...new Set(items.map((i) => i.topic))];
    let metadata;
    try {
      metadata = await this.consumer.metadata({ topics, forceUpdate: this.staleMetadata });
      this.staleMetadata = false;
    } catch (err) {
      this.staleMetadata = true;
      for (const i of items) outcomes.set(fetchKey(i.topic, i.partition), { kind: 'retry', reason: `metadata: ${(err as Error).message}` });
      return outcomes;
    }
    const byNode = new Map<number, FetchItem[]>();
    const names = new Map<string, string>();
    for (const item of items) {
      const topic = metadata.topics.get(item.topic);
      const leader = topic?.partitions[item.partition]?.leader;
      if (topic === undefined || leader === undefined || leader < 0) {
        this.staleMetadata = true;
        outcomes.set(fetchKey(item.topic, item.partition), { kind: 'retry', reason: 'no leader in metadata' });
        continue;
      }
      names.set(topic.id, item.topic);
      const list = byNode.get(leader);
      if (list === undefined) byNode.set(leader, [item]);
      else list.push(item);
    }
    await Promise.all([...byNode].map(([node, list]) => this.fetchFrom(node, list, maxWaitMs, metadata.topics, names, outcomes)));
    return outcomes;
  }

  private async fetchFrom(node: number, items: readonly FetchItem[], maxWaitMs: number, topics: Map<string, { id: string }>, names: Map<string, string>, outcomes: Map<string, FetchOutcome>): Promise<void> {
    const requested = new Map(items.map((i) => [fetchKey(i.topic, i.partition), i.offset]));
    const byTopic = new Map<string, FetchRequestPartition[]>();
    for (const i of items) {
      const id = topics.get(i.topic)!.id;
      const partition = { partition: i.partition, fetchOffset: i.offset, partitionMaxBytes: this.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 };
      const list = byTopic.get(id);
      if (list === undefined) byTopic.set(id, [partition]);
      else list.push(partition);
    }
    const request = [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions }));
    let response: FetchResponse | undefined;
    try {
      response = await this.consumer.fetch({ node, topics: request, maxWaitTime: maxWaitMs, minBytes: 1, maxBytes: this.maxBytesPerPartition * items.length, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
    } catch (err) {
      const unreadable = unreadableIn(err);
      if (unreadable !== undefined) {
        // One partition's batch fails the whole response: fetch the partitions one at a time, to
        // name the one that cannot be read and let the others through.
        if (items.length > 1) {
          for (const item of items) await this.fetchFrom(node, [item], maxWaitMs, topics, names, outcomes);
          return;
        }
        const { topic, partition, offset } = items[0]!;
        const error = sluiceError('SLUICE_INPUT_UNREADABLE', `${topic} partition ${partition} cannot be read at offset ${offset}: ${unreadable.message}`, { cause: err });
        outcomes.set(fetchKey(topic, partition), { kind: 'unreadable', error });
        return;
      }
      // Partition errors come as an error that carries the whole response.
      response = (err as { response?: FetchResponse }).response;
      if (response === undefined || response.errorCode !== 0) {
        this.staleMetadata = true;
        for (const key of requested.keys()) outcomes.set(key, { kind: 'retry', reason: (err as Error).message });
        return;
      }
    }
    for (const t of response.responses) {
      const topic = names.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const key = fetchKey(topic, p.partitionIndex);
        const from = requested.get(key);
        if (from === undefined) continue;
        if (p.errorCode === OFFSET_OUT_OF_RANGE) outcomes.set(key, { kind: 'out-of-range' });
        else if (p.errorCode !== 0) {
          this.staleMetadata = true;
          outcomes.set(key, { kind: 'retry', reason: `error code ${p.errorCode}` });
        } else {
          const records: InputRecord[] = [];
          const next = committedRecords(p.records, p.abortedTransactions, from, records);
          outcomes.set(key, { kind: 'records', records, next, lastStable: p.lastStableOffset });
        }
      }
    }
    // Fetch sessions leave out partitions with nothing new.
    for (const [key, from] of requested) if (!outcomes.has(key)) outcomes.set(key, { kind: 'records', records: [], next: from, lastStable: -1n });
  }
}
