// The read_committed filter of sluice's @platformatic/kafka fetch loop, on record batches shaped
// as the library decodes them. The cases are the ones that broke a client before: aborted
// transactions listed out of first-offset order, and one producer aborting twice in one fetch.
import type { RecordsBatch } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { committedRecords } from '../../../../src/clients/platformatic/fetch.ts';
import type { InputRecord } from '../../../../src/model/records.ts';

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const ABORT_KEY = Buffer.from([0, 0, 0, 0]);
const COMMIT_KEY = Buffer.from([0, 0, 0, 1]);

function batch(firstOffset: number, count: number, producerId: number, opts: { transactional?: boolean; control?: Buffer; timestamp?: number } = {}): RecordsBatch {
  const records = Array.from({ length: opts.control ? 1 : count }, (_, i) => ({
    length: 0,
    attributes: 0,
    timestampDelta: BigInt(i),
    offsetDelta: i,
    key: opts.control ?? Buffer.from(`k${firstOffset + i}`),
    value: opts.control ? Buffer.alloc(6) : Buffer.from(`v${firstOffset + i}`),
    headers: [] as [Buffer | null, Buffer | null][],
  }));
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: (opts.transactional || opts.control ? TRANSACTIONAL : 0) | (opts.control ? CONTROL : 0),
    lastOffsetDelta: records.length - 1,
    firstTimestamp: BigInt(opts.timestamp ?? 1_000),
    maxTimestamp: BigInt((opts.timestamp ?? 1_000) + records.length - 1),
    producerId: BigInt(producerId),
    producerEpoch: 0,
    firstSequence: 0,
    records,
  };
}

const aborted = (producerId: number, firstOffset: number) => ({ producerId: BigInt(producerId), firstOffset: BigInt(firstOffset) });

function read(batches: RecordsBatch[], abortedTxns: ReturnType<typeof aborted>[] | null, from = 0): { offsets: number[]; next: bigint; records: InputRecord[] } {
  const records: InputRecord[] = [];
  const next = committedRecords(batches, abortedTxns, BigInt(from), records);
  return { offsets: records.map((r) => Number(r.offset)), next, records };
}

describe('committedRecords', () => {
  it('drops aborted transactions whatever order the broker lists them in, and control records always', () => {
    // Producer 8 aborts 0-2 (marker at 9) after producer 6 aborted 4-5 (marker at 8); 7 commits.
    const batches = [batch(0, 3, 8, { transactional: true }), batch(3, 1, 7, { transactional: true }), batch(4, 2, 6, { transactional: true }), batch(6, 1, 7, { control: COMMIT_KEY }), batch(7, 1, 9), batch(8, 1, 6, { control: ABORT_KEY }), batch(9, 1, 8, { control: ABORT_KEY }), batch(10, 2, 7)];
    const listed = [aborted(6, 4), aborted(8, 0)];
    expect(read(batches, listed).offsets).toEqual([3, 7, 10, 11]);
    expect(read(batches, [...listed].reverse()).offsets).toEqual([3, 7, 10, 11]);
  });

  it('drops both aborted transactions of one producer in one fetch, and keeps its committed one between them', () => {
    const batches = [
      batch(0, 2, 5, { transactional: true }),
      batch(2, 1, 5, { control: ABORT_KEY }),
      batch(3, 2, 5, { transactional: true }),
      batch(5, 1, 5, { control: COMMIT_KEY }),
      batch(6, 2, 5, { transactional: true }),
      batch(8, 1, 5, { control: ABORT_KEY }),
      batch(9, 1, 5, { transactional: true }),
    ];
    expect(read(batches, [aborted(5, 0), aborted(5, 6)]).offsets).toEqual([3, 4, 9]);
  });

  it('keeps non-transactional records of a producer id that has an aborted transaction', () => {
    expect(read([batch(0, 2, 3, { transactional: true }), batch(2, 1, 4), batch(3, 1, 3, { control: ABORT_KEY })], [aborted(3, 0)]).offsets).toEqual([2]);
  });

  it('skips records below the fetch offset inside the first batch, and moves past trailing markers', () => {
    const { offsets, next } = read([batch(10, 5, 1, { transactional: true }), batch(15, 1, 1, { control: COMMIT_KEY })], null, 12);
    expect(offsets).toEqual([12, 13, 14]);
    expect(next).toBe(16n);
  });

  it('returns the fetch offset when nothing was fetched', () => {
    expect(read([], null, 42).next).toBe(42n);
  });

  it('gives records the fields the engine reads: offset, key, value, timestamp and headers as strings and Buffers', () => {
    const b = batch(7, 1, 1, { timestamp: 5_000 });
    b.records[0]!.headers = [[Buffer.from('origin'), Buffer.from('x')]];
    const [r] = read([b], null, 7).records;
    expect(r).toEqual({ offset: '7', key: Buffer.from('k7'), value: Buffer.from('v7'), timestamp: '5000', headers: { origin: Buffer.from('x') } });
  });

  it('keeps every value of a repeated header, in order, as kafkajs does', () => {
    const b = batch(7, 1, 1);
    b.records[0]!.headers = [[Buffer.from('hop'), Buffer.from('a')], [Buffer.from('one'), null], [Buffer.from('hop'), Buffer.from('b')], [Buffer.from('hop'), Buffer.from('c')]];
    const [r] = read([b], null, 7).records;
    expect(r!.headers).toEqual({ hop: [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], one: Buffer.alloc(0) });
  });

  it('uses the batch max timestamp for log-append-time topics', () => {
    const b = batch(0, 2, 1, { timestamp: 100 });
    b.attributes |= 0x08;
    expect(read([b], null).records.map((r) => r.timestamp)).toEqual(['101', '101']);
  });
});
