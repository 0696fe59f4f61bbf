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
      for (const item of Array.isArray(v) ? v : [v]) n += Buffer.byteLength(k) + 10 + (item === undefined ? 0 : typeof item === 'string' ? Buffer.byteLength(item) : item.length);
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

/** Where a send put the first record of each topic-partition it wrote to ('-1': not reported). */
export interface SentBase {
  topic: string;
  partition: number;
  baseOffset: string;
}

/** One produce request of a transaction: outputs first, then changelog records, so these end it. */
export interface SendChunk {
  records: OutRecord[];
  /** how many of `records`, at its end, are changelog records */
  changelogRecords: number;
}

/** Chunks a lane's outputs followed by its changelog records as chunkByBytes does, each chunk knowing its changelog tail. */
export function chunkBatch(outputs: readonly OutRecord[], changelog: readonly OutRecord[], maxBytes: number): SendChunk[] {
  const chunks: SendChunk[] = [];
  let start = 0;
  for (const records of chunkByBytes(outputs.concat(changelog), maxBytes)) {
    const end = start + records.length;
    chunks.push({ records, changelogRecords: Math.max(0, end - Math.max(start, outputs.length)) });
    start = end;
  }
  return chunks;
}

/** Offset after the last changelog record a send of `chunk` wrote (all to the lane's changelog partition). */
export function changelogEnd(chunk: SendChunk, sent: readonly SentBase[]): string | undefined {
  if (chunk.changelogRecords === 0) return undefined;
  const last = chunk.records[chunk.records.length - 1]!;
  const base = sent.find((m) => m.topic === last.topic && m.partition === last.partition)?.baseOffset;
  if (base === undefined || base === '-1') return undefined;
  return (BigInt(base) + BigInt(chunk.changelogRecords)).toString();
}
