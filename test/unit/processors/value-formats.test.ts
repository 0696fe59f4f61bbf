// The batch processor with formats other than JSON: a value decoder decides how bytes become an
// event (validation stays the processor's), a prepare step runs before each batch, and an output
// encoder writes the results' values while keys stay the JSON window keys.
import { describe, expect, it } from 'vitest';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { InputFormat, WindowResult } from '../../../src/model/value-format.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const MIN = 60_000;
const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const SPEC: PipelineSpec = {
  keyField: 'k',
  idField: undefined,
  dedupeTtlMs: undefined,
  eventTimeField: 't',
  maxRecordBytes: 1000,
  windows: [{ name: 'w', groupBy: ['k'], kind: 'tumbling', sizeMs: MIN, advanceMs: MIN, graceMs: 0, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
};

// "k,t" text: a stand-in encoding that is not JSON, with its own failure.
const csvFormat = (prepared: string[][]): InputFormat => ({
  prepare: async (records) => {
    prepared.push(records.map((r) => r.offset));
  },
  decodeValue: (value) => {
    const [k, t] = (value?.toString() ?? '').split(',');
    return k && t ? { ok: true, event: { k, t: Number(t) } } : { ok: false, reason: 'undecodable', detail: `not k,t: ${String(value)}` };
  },
});

const rec = (offset: number, key: string, value: string): InputRecord => ({ offset: String(offset), key: Buffer.from(key), value: Buffer.from(value), timestamp: '0' });

describe('BatchProcessor with value formats', () => {
  it("decodes with the format, keeps the processor's own validation, and dead-letters the format's failures", async () => {
    const prepared: string[][] = [];
    const processor = new BatchProcessor(SPEC, TOPICS, 0, { formats: { input: csvFormat(prepared) } });
    const records = [rec(0, 'a', 'a,1000'), rec(1, 'a', 'garbage'), rec(2, 'b', 'a,2000'), rec(3, 'a', `a,${2 * MIN}`)];
    await processor.prepare(records);
    expect(prepared).toEqual([['0', '1', '2', '3']]);
    const result = processor.process(records, new MemoryStore(SPEC).nextBatch(), Number.NEGATIVE_INFINITY);
    const dead = result.records.filter((r) => r.topic === TOPICS.deadLetter).map((r) => [r.headers![DLQ_HEADER.reason], r.headers![DLQ_HEADER.detail]]);
    expect(dead).toEqual([
      ['undecodable', 'not k,t: garbage'],
      ['key-mismatch', 'record key "b" differs from field "k" value "a"'],
    ]);
    const finals = result.records.filter((r) => r.topic === TOPICS.output);
    expect(finals.map((r) => [r.key, JSON.parse(String(r.value)).values.n])).toEqual([['["w","a",0]', 1]]);
  });

  it('writes result values with the output encoder, under the same keys', () => {
    const seen: WindowResult[] = [];
    const encode = (r: WindowResult) => {
      seen.push(r);
      return Buffer.from(`${r.window}:${r.values.n}`);
    };
    const processor = new BatchProcessor(SPEC, TOPICS, 0, { formats: { output: encode } });
    const json = (k: string, t: number) => rec(t, k, JSON.stringify({ k, t }));
    const result = processor.process([json('a', 1000), json('a', 2000), json('a', 2 * MIN)], new MemoryStore(SPEC).nextBatch(), Number.NEGATIVE_INFINITY);
    expect(result.records.map((r) => [r.key, String(r.value)])).toEqual([['["w","a",0]', 'w:2']]);
    expect(seen).toEqual([{ window: 'w', group: { k: 'a' }, start: 0, end: MIN, final: true, values: { n: 2 } }]);
  });
});
