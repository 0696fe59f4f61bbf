// Sizing and offset bookkeeping over the records a lane sink sends, shared by every client's sink.
import type { OutRecord } from '../model/records.ts';

/** Approximate wire size, to keep each produce request under the broker's message size. */
export function recordBytes(r: OutRecord): number {
  let n = 70;
  if (r.key !== null) n += typeof r.key === 'string' ? Buffer.byteLength(r.key) : r.key.length;
  if (r.value !== null) n += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
  if (r.headers) {
    for (const k in r.headers) {
      const v = r.headers[k];
      n += Buffer.byteLength(k) + 10 + (v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
    }
  }
  return n;
}

/** Splits records into runs of at most `maxBytes` (a record larger than that travels alone). */
export function chunkByBytes(records: readonly OutRecord[], maxBytes: number): OutRecord[][] {
  const chunks: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const b = recordBytes(r);
    if (current.length > 0 && bytes + b > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += b;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** How many of `records` go to `topic`'s partition `partition`: a send's offsets end after them. */
export function countRecordsTo(records: readonly OutRecord[], topic: string, partition: number): number {
  let n = 0;
  for (const r of records) if (r.topic === topic && r.partition === partition) n++;
  return n;
}

/** Where a send put the first record of each topic-partition it wrote to ('-1': not reported). */
export interface SentBase {
  topic: string;
  partition: number;
  baseOffset: string;
}

/** Offset after the last record a send of `chunk` put into changelog partition `partition`. */
export function changelogEnd(chunk: readonly OutRecord[], sent: readonly SentBase[], changelogTopic: string, partition: number): string | undefined {
  const n = countRecordsTo(chunk, changelogTopic, partition);
  if (n === 0) return undefined;
  const base = sent.find((m) => m.topic === changelogTopic && m.partition === partition)?.baseOffset;
  if (base === undefined || base === '-1') return undefined;
  return (BigInt(base) + BigInt(n)).toString();
}
