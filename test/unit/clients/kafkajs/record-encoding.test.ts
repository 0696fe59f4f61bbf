import { readFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../../../../src/clients/kafkajs/loader.ts';
import { recordBatchEncoder, sizedRecord, writeRecord } from '../../../../src/clients/kafkajs/record-encoding.ts';
import type { CodecLookup, RecordArgs } from '../../../../src/clients/kafkajs/record-encoding.ts';

const require = createRequire(import.meta.url);

/** A kafkajs module compiled afresh from its file, so the reference is never the patched copy. */
function original<T>(id: string): T {
  const path = require.resolve(id);
  const m = new Module(path) as Module & { _compile(src: string, file: string): void; paths: string[] };
  m.filename = path;
  m.paths = (Module as unknown as { _nodeModulePaths(p: string): string[] })._nodeModulePaths(path);
  m._compile(readFileSync(path, 'utf8'), path);
  return m.exports as T;
}

type Enc = { buffer: Buffer };
const kafkajsRecord = original<(a: RecordArgs) => Enc>('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const kafkajsBatch = original<{ RecordBatch: (a: unknown) => Promise<Enc> }>('kafkajs/src/protocol/recordBatch/v0/index.js').RecordBatch;
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };
const { lookupCodec } = require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodec: CodecLookup };
const ourBatch = recordBatchEncoder(kafkajsBatch as never, crc32C, lookupCodec);

const bytes = fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme' }), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)));
const headerValue = fc.oneof(fc.string({ unit: 'grapheme' }), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)));
const record = fc.record(
  {
    key: bytes,
    value: bytes,
    timestampDelta: fc.oneof(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: 0, max: 2 ** 45 })),
    headers: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 4 }),
  },
  { requiredKeys: ['key', 'value', 'timestampDelta'] },
);

describe('record encoding', () => {
  it('encodes a record to the same bytes as kafkajs', () => {
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 100_000 }), (r, offsetDelta) => {
        const args = { ...r, offsetDelta } as RecordArgs;
        const ours = ourBatchRecordBytes(args);
        expect(ours.equals(kafkajsRecord(args).buffer)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes uncompressed and compressed batches to the same bytes as kafkajs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 0, maxLength: 30 }), fc.boolean(), fc.constantFrom(0, 1, 2, 3, 4), async (records, transactional, compression) => {
        const common = {
          compression,
          firstTimestamp: '1700000000000',
          maxTimestamp: 1700000009999,
          lastOffsetDelta: records.length - 1,
          transactional,
          producerId: Long.fromValue(transactional ? 4711 : -1),
          producerEpoch: 3,
          firstSequence: 42,
        };
        const args = records.map((r, i) => ({ ...r, offsetDelta: i }) as RecordArgs);
        const theirs = await kafkajsBatch({ ...common, records: args.map(kafkajsRecord) });
        const ours = await ourBatch({ ...common, records: args.map(sizedRecord) });
        if (compression === 0) expect(ours.buf.equals(theirs.buffer)).toBe(true);
        // every codec is deterministic (gzip embeds no timestamp), so compressed batches must match byte for byte too
        else expect(Buffer.from(ours.buf.subarray(0, ours.offset)).equals(theirs.buffer)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('is what the produce request uses once the patches are installed', () => {
    const recordModule = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as unknown;
    expect(recordModule).toBe(sizedRecord);
  });
});

function ourBatchRecordBytes(args: RecordArgs): Buffer {
  const r = sizedRecord(args);
  const buf = Buffer.alloc(r.size);
  expect(writeRecord(buf, 0, r)).toBe(r.size);
  return buf;
}
