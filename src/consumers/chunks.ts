// How a fetched batch is cut into transactions: at most `maxRecords` records and about `maxBytes`
// of keys and values (kafkajs does not split a produce request, and the outputs of a chunk must
// stay under the broker's message size). Shared with the benchmark's pass-through ceiling, so
// both commit the same amounts.
export interface SizedRecord {
  key: Buffer | null;
  value: Buffer | null;
}

/** The exclusive end of the chunk that starts at `start`; always at least one record. */
export function chunkEnd(records: readonly SizedRecord[], start: number, maxRecords: number, maxBytes: number): number {
  let end = start;
  let bytes = 0;
  while (end < records.length && end - start < maxRecords && (end === start || bytes < maxBytes)) {
    bytes += (records[end]!.value?.length ?? 0) + (records[end]!.key?.length ?? 0);
    end++;
  }
  return end;
}
