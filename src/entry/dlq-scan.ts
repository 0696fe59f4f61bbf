// Reads a dead-letter topic from its log start to the end it has when the scan starts
// (read_committed, outside any group), through the client port, and hands each dead letter that
// passes the filter to a visitor. What `sluice dlq inspect` and `sluice dlq replay` share.
import { DLQ_HEADER } from '../processors/dead-letter.ts';
import type { InputHeaders, InputRecord } from '../model/records.ts';
import type { StreamClient } from '../clients/port.ts';
import { sluiceError } from '../errors.ts';

/** A dead letter as read back: the original record plus what sluice said about it. */
export interface DeadLetter {
  /** where the dead letter itself is */
  partition: number;
  offset: string;
  /** when it was dead-lettered (its record timestamp), epoch ms */
  timestamp: number;
  reason: string;
  stage: string | undefined;
  field: string | undefined;
  detail: string | undefined;
  origin: { topic: string | undefined; partition: number | undefined; offset: string | undefined; timestamp: string | undefined };
  key: Buffer | null;
  value: Buffer | null;
  /** the original value was too large to keep (its size is in `sluice.reason.size`): `value` is not it */
  valueLeftOut: boolean;
  headers: InputHeaders | undefined;
}

export interface DeadLetterFilter {
  /** keep only these reasons; empty keeps all */
  reasons: ReadonlySet<string>;
  /** keep only dead letters written at or after this time (epoch ms) */
  sinceMs: number | undefined;
}

export interface ScanProgress {
  /** offsets read so far, over every partition */
  done: bigint;
  /** offsets to read in all (control records included, so only an estimate of the records) */
  total: bigint;
}

/** Set on a dead letter whose value was left out (src/processors/batch-processor.ts). */
const VALUE_SIZE_HEADER = `${DLQ_HEADER.reason}.size`;

/** A header's text; a repeated header's last value, as it is the one sluice wrote. */
export function headerText(headers: InputHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  return last === undefined || last === null ? undefined : last.toString();
}

function toDeadLetter(partition: number, r: InputRecord): DeadLetter {
  const h = r.headers;
  const originPartition = headerText(h, DLQ_HEADER.partition);
  return {
    partition,
    offset: r.offset,
    timestamp: Number(r.timestamp),
    reason: headerText(h, DLQ_HEADER.reason) ?? '(none)',
    stage: headerText(h, DLQ_HEADER.stage),
    field: headerText(h, DLQ_HEADER.field),
    detail: headerText(h, DLQ_HEADER.detail),
    origin: {
      topic: headerText(h, DLQ_HEADER.topic),
      partition: originPartition === undefined || !/^\d+$/.test(originPartition) ? undefined : Number(originPartition),
      offset: headerText(h, DLQ_HEADER.offset),
      timestamp: headerText(h, DLQ_HEADER.timestamp),
    },
    key: r.key,
    value: r.value,
    valueLeftOut: headerText(h, VALUE_SIZE_HEADER) !== undefined,
    headers: h,
  };
}

export function passes(filter: DeadLetterFilter, dl: DeadLetter): boolean {
  if (filter.reasons.size > 0 && !filter.reasons.has(dl.reason)) return false;
  return filter.sinceMs === undefined || dl.timestamp >= filter.sinceMs;
}

/** The partition count of `topic`, or SLUICE_TOPIC_MISSING naming what it is for. */
export async function partitionsOf(client: StreamClient, topic: string, role: string): Promise<number> {
  const n = (await client.topics.partitionCounts([topic])).get(topic);
  if (n === undefined) throw sluiceError('SLUICE_TOPIC_MISSING', `${role} topic ${topic} does not exist`);
  return n;
}

/**
 * Visits every dead letter of `topic` that passes `filter`, partition by partition, in offset
 * order. The next fetch waits for the visitor, so a slow visitor (a replay's produce) bounds
 * what is in memory. Returns how many dead letters were read in all.
 */
export async function scanDeadLetters(
  client: StreamClient,
  topic: string,
  filter: DeadLetterFilter,
  visit: (dl: DeadLetter) => void | Promise<void>,
  onProgress: (p: ScanProgress) => void,
): Promise<number> {
  const partitions = await partitionsOf(client, topic, 'dead-letter');
  const ranges: { partition: number; start: bigint; end: bigint }[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const start = BigInt(await client.logStartOffset(topic, partition));
    const end = BigInt(await client.highWatermark(topic, partition));
    if (end > start) ranges.push({ partition, start, end });
  }
  const progress: ScanProgress = { done: 0n, total: ranges.reduce((sum, r) => sum + r.end - r.start, 0n) };
  onProgress(progress);
  let read = 0;
  for (const { partition, start, end } of ranges) {
    let position = start;
    await client.partitionReader.read({ topic, partition, fromOffset: start.toString(), untilOffset: end.toString() }, async (records, next) => {
      for (const r of records) {
        if (BigInt(r.offset) >= end) break;
        read++;
        const dl = toDeadLetter(partition, r);
        if (passes(filter, dl)) await visit(dl);
      }
      const reached = BigInt(next) < end ? BigInt(next) : end;
      progress.done += reached - position;
      position = reached;
      onProgress(progress);
    });
  }
  return read;
}
