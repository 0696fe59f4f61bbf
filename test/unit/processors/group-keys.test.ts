// Groups whose values shared a key while keys were String(value) joined with "|" (issue 11,
// hole 2) must each get their own accumulator and final, on a partition-local window and across
// partitions; object and array group values are dead letters; state under a legacy key is taken
// over, not kept beside the new one.
import { describe, expect, it } from 'vitest';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { BatchResult } from '../../../src/processors/batch-processor.ts';
import { MergeProcessor } from '../../../src/processors/merge-processor.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import type { OutRecord } from '../../../src/model/records.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const MIN = 60_000;
const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const PARTIALS = 'app-by_xy-partials';

const window = (name: string, groupBy: string[]): WindowSpec => ({
  name,
  groupBy,
  kind: 'tumbling',
  sizeMs: MIN,
  advanceMs: MIN,
  graceMs: 0,
  emit: 'final',
  aggregates: [
    { name: 'n', fn: 'count', field: undefined },
    { name: 'sum', fn: 'sum', field: 'v' },
  ],
});

const spec = (windows: WindowSpec[]): PipelineSpec => ({ keyField: 'k', idField: 'id', dedupeTtlMs: 1000, eventTimeField: 't', maxRecordBytes: 10_000, windows });

let offset = 0;
let seq = 0;
function ev(fields: Record<string, unknown>): InputRecord {
  const event = { id: `e${seq++}`, k: 'p', v: 1, ...fields };
  return { offset: String(offset++), key: Buffer.from(String(event.k)), value: Buffer.from(JSON.stringify(event)), timestamp: '0' };
}

/** One batch; returns the finals as key -> [group, values] and the dead letters as [reason, field]. */
function run(processor: BatchProcessor, store: MemoryStore, records: InputRecord[], streamTime = Number.NEGATIVE_INFINITY) {
  const result = processor.process(records, store.nextBatch(), streamTime);
  return { result, ...outcome(result) };
}

function outcome(result: BatchResult) {
  const finals = new Map<string, [unknown, unknown]>();
  for (const r of result.records) {
    if (r.topic !== TOPICS.output) continue;
    const v = JSON.parse(String(r.value)) as { group: unknown; values: unknown; final: boolean };
    expect(finals.has(String(r.key)), `${String(r.key)} written twice`).toBe(false);
    if (v.final) finals.set(String(r.key), [v.group, v.values]);
  }
  const deadLetters = result.records.filter((r) => r.topic === TOPICS.deadLetter).map((r) => [r.headers![DLQ_HEADER.reason], r.headers![DLQ_HEADER.field]]);
  return { finals, deadLetters };
}

describe('group values that collided under the "|" key', () => {
  const s = spec([window('w', ['k', 'x'])]);
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['("a|b","c") and ("a","b|c")', { k: 'a|b', x: 'c' }, { k: 'a', x: 'b|c' }],
    ['1 and "1"', { x: 1 }, { x: '1' }],
    ['true and "true"', { x: true }, { x: 'true' }],
    ['1.5 and "1.5"', { x: 1.5 }, { x: '1.5' }],
  ];
  it.each(cases)('%s get a final each, with their own values', (_name, a, b) => {
    const store = new MemoryStore(s);
    const processor = new BatchProcessor(s, TOPICS, 0);
    const first = run(processor, store, [ev({ ...a, t: 1000, v: 1 }), ev({ ...b, t: 2000, v: 10 }), ev({ ...a, t: 3000, v: 100 })]);
    const { finals } = run(processor, store, [ev({ x: 'z', t: 5 * MIN })], first.result.streamTime);
    const groupOf = (e: Record<string, unknown>) => ({ k: e.k ?? 'p', x: e.x });
    expect(finals).toEqual(
      new Map([
        [JSON.stringify(['w', groupOf(a).k, groupOf(a).x, 0]), [groupOf(a), { n: 2, sum: 101 }]],
        [JSON.stringify(['w', groupOf(b).k, groupOf(b).x, 0]), [groupOf(b), { n: 1, sum: 10 }]],
      ]),
    );
  });

  it('null is a missing group value (a dead letter), "null" a group of its own', () => {
    const store = new MemoryStore(s);
    const processor = new BatchProcessor(s, TOPICS, 0);
    const first = run(processor, store, [ev({ x: null, t: 1000 }), ev({ x: 'null', t: 2000 }), ev({ t: 3000 })]);
    expect(first.deadLetters).toEqual([
      ['missing-field', 'x'],
      ['missing-field', 'x'],
    ]);
    const { finals } = run(processor, store, [ev({ x: 'z', t: 5 * MIN })], first.result.streamTime);
    expect([...finals.keys()]).toEqual(['["w","p","null",0]']);
  });
});

describe('invalid-group', () => {
  const s = spec([window('local', ['k']), window('w', ['k', 'x'])]);

  it('dead-letters an object or array group value, naming the field, and changes no state', () => {
    const store = new MemoryStore(s);
    const processor = new BatchProcessor(s, TOPICS, 0);
    const { deadLetters, result } = run(processor, store, [ev({ x: { a: 1 }, t: 1000 }), ev({ x: [1], t: 1000 }), ev({ x: {}, t: 1000 })]);
    expect(deadLetters).toEqual([
      ['invalid-group', 'x'],
      ['invalid-group', 'x'],
      ['invalid-group', 'x'],
    ]);
    expect(result.stats.deadLetters).toEqual(new Map([['invalid-group', 3]]));
    expect(result.records.find((r) => r.topic === TOPICS.deadLetter)!.headers![DLQ_HEADER.detail]).toMatch(/groupBy field "x" must be a well-formed string, a finite number or a boolean, got object/);
    expect({ windows: store.windows.size, ids: store.ids.size, streamTime: result.streamTime }).toEqual({ windows: 0, ids: 0, streamTime: Number.NEGATIVE_INFINITY });
  });

  it('is checked field by field in groupBy order, together with missing fields', () => {
    const two = spec([window('w', ['k', 'y', 'x'])]);
    const { deadLetters } = run(new BatchProcessor(two, TOPICS, 0), new MemoryStore(two), [ev({ x: { a: 1 }, t: 1000 }), ev({ y: [2], t: 1000 })]);
    expect(deadLetters).toEqual([
      ['missing-field', 'y'],
      ['invalid-group', 'y'],
    ]);
  });
});

describe('a cross-partition window', () => {
  const cross = window('by_xy', ['x', 'y']);
  const s = spec([cross]);
  const topics = { ...TOPICS, partials: new Map([['by_xy', PARTIALS]]), partialsPartitions: 1 };
  const asInput = (records: readonly OutRecord[]): InputRecord[] =>
    records.filter((r) => r.topic === PARTIALS).map((r, i) => ({ offset: String(i), key: Buffer.from(String(r.key)), value: r.value === null ? null : Buffer.from(String(r.value)), timestamp: '0' }));

  it('merges each group across partitions and keeps colliding groups apart', () => {
    const groups = [{ x: 1 }, { x: '1' }, { x: true }, { x: 'true' }, { x: 'a|b', y: 'c' }, { x: 'a', y: 'b|c' }];
    const merge = new MergeProcessor({ window: cross, outputTopic: TOPICS.output, partialsTopic: PARTIALS, partition: 0, sources: 2 });
    const mergeStore = new MemoryStore(s);
    merge.onOpen(mergeStore);
    const partials: OutRecord[] = [];
    for (const p of [0, 1]) {
      const store = new MemoryStore(s);
      const processor = new BatchProcessor(s, topics, p);
      // Group i gets i + 1 events of v = 10^i on each partition.
      const events = groups.flatMap((g, i) => Array.from({ length: i + 1 }, (_, j) => ev({ y: '', ...g, k: `p${p}`, t: 1000 + j, v: 10 ** i })));
      const first = processor.process(events, store.nextBatch(), Number.NEGATIVE_INFINITY);
      const closing = processor.process([ev({ x: 'later', y: '', k: `p${p}`, t: 5 * MIN })], store.nextBatch(), first.streamTime);
      partials.push(...first.records, ...closing.records);
    }
    const { finals } = outcome(merge.process(asInput(partials), mergeStore.nextBatch(), Number.NEGATIVE_INFINITY));
    expect(finals).toEqual(
      new Map(
        groups.map((g, i) => {
          const group = { x: g.x, y: g.y ?? '' };
          return [JSON.stringify(['by_xy', group.x, group.y, 0]), [group, { n: 2 * (i + 1), sum: 2 * (i + 1) * 10 ** i }]];
        }),
      ),
    );
  });
});

describe('output.partitioning: input', () => {
  it("puts a source lane's results and a merge lane's finals on the lane's own output partition, and leaves them to the key otherwise", () => {
    const cross = window('by_xy', ['x', 'y']);
    const s = spec([window('local', ['k']), cross]);
    const topics = { ...TOPICS, partials: new Map([['by_xy', PARTIALS]]), partialsPartitions: 1 };
    const outputs = (outputPartition: number | undefined) => {
      const store = new MemoryStore(s);
      const processor = new BatchProcessor(s, { ...topics, outputPartition }, 0);
      const first = processor.process([ev({ x: 'a', y: 'b', k: 'p', t: 1000 })], store.nextBatch(), Number.NEGATIVE_INFINITY);
      const closing = processor.process([ev({ x: 'a', y: 'b', k: 'p', t: 5 * MIN })], store.nextBatch(), first.streamTime);
      const partials = [...first.records, ...closing.records].filter((r) => r.topic === PARTIALS);
      const merge = new MergeProcessor({ window: cross, outputTopic: TOPICS.output, partialsTopic: PARTIALS, partition: 0, sources: 1, outputPartition: outputPartition === undefined ? undefined : outputPartition + 1 });
      const mergeStore = new MemoryStore(s);
      merge.onOpen(mergeStore);
      const merged = merge.process(partials.map((r, i) => ({ offset: String(i), key: Buffer.from(String(r.key)), value: r.value === null ? null : Buffer.from(String(r.value)), timestamp: '0' })), mergeStore.nextBatch(), Number.NEGATIVE_INFINITY);
      const results = (records: readonly OutRecord[]) => records.filter((r) => r.topic === TOPICS.output).map((r) => r.partition);
      return { source: results([...first.records, ...closing.records]), merge: results(merged.records) };
    };
    expect(outputs(2)).toEqual({ source: [2], merge: [3] });
    expect(outputs(undefined)).toEqual({ source: [undefined], merge: [undefined] });
  });
});

describe('state under a legacy key (sluice 0.1: String() joined with "|")', () => {
  const s = spec([window('w', ['k', 'x'])]);
  const legacy = (g: unknown[], n: number, sum: number) => ({ w: 'w', g, s: 0, a: [n, sum] });

  it('is taken over by the first event of its own group, closes under the new key if none comes, and is never kept beside a new one', () => {
    const store = new MemoryStore(s);
    store.windows.set('w|p|c|0', legacy(['p', 'c'], 2, 20));
    store.windows.set('w|p|d|0', legacy(['p', 'd'], 1, 5));
    // Written by the string "1"; an event of the number 1 is another group and must not take it.
    store.windows.set('w|p|1|0', legacy(['p', '1'], 4, 40));
    const processor = new BatchProcessor(s, TOPICS, 0);
    // The stream time the old version committed these windows at.
    const first = run(processor, store, [ev({ x: 'c', t: 1000, v: 1 }), ev({ x: 1, t: 1000, v: 7 })], 1000);
    expect([...store.windows.keys()].sort()).toEqual(['["w","p","c",0]', '["w","p",1,0]', 'w|p|1|0', 'w|p|d|0']);
    const { finals } = run(processor, store, [ev({ x: 'z', t: 5 * MIN })], first.result.streamTime);
    expect(finals).toEqual(
      new Map<string, [unknown, unknown]>([
        ['["w","p","c",0]', [{ k: 'p', x: 'c' }, { n: 3, sum: 21 }]],
        ['["w","p",1,0]', [{ k: 'p', x: 1 }, { n: 1, sum: 7 }]],
        ['["w","p","1",0]', [{ k: 'p', x: '1' }, { n: 4, sum: 40 }]],
        ['["w","p","d",0]', [{ k: 'p', x: 'd' }, { n: 1, sum: 5 }]],
      ]),
    );
    expect([...store.windows.keys()]).toEqual(['["w","p","z",300000]']);
  });

  it('is looked up only for windows that start no later than the stream time the lane opened at', () => {
    const looked: string[] = [];
    const store = new (class extends MemoryStore {
      override getWindow(key: string) {
        looked.push(key);
        return super.getWindow(key);
      }
    })(s);
    const processor = new BatchProcessor(s, TOPICS, 0);
    run(processor, store, [ev({ x: 'c', t: MIN + 1 })], MIN);
    run(processor, store, [ev({ x: 'c', t: 2 * MIN + 1 })], MIN + 1);
    expect(looked.filter((k) => !k.startsWith('['))).toEqual(['w|p|c|60000']);
  });

  it("in a merge lane, is replaced by its source's next partial and merged with the other sources' legacy partials", () => {
    const cross = window('by_xy', ['x', 'y']);
    const store = new MemoryStore(spec([cross]));
    store.windows.set('by_xy|a|b|0|0', { w: 'by_xy', g: ['a', 'b'], s: 0, a: [1, 1] });
    store.windows.set('by_xy|a|b|0|1', { w: 'by_xy', g: ['a', 'b'], s: 0, a: [2, 20] });
    const merge = new MergeProcessor({ window: cross, outputTopic: TOPICS.output, partialsTopic: PARTIALS, partition: 0, sources: 2 });
    merge.onOpen(store);
    const record = (key: string, value: unknown): InputRecord => ({ offset: '0', key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), timestamp: '0' });
    const result = merge.process(
      [
        // Source 0's whole accumulator now: the legacy partial's one event and two more.
        record('["by_xy","a","b",0]|0', { w: 'by_xy', g: ['a', 'b'], s: 0, a: [3, 111], src: 0 }),
        record('__wm|0', { wm: 5 * MIN }),
        record('__wm|1', { wm: 5 * MIN }),
      ],
      store.nextBatch(),
      Number.NEGATIVE_INFINITY,
    );
    expect(outcome(result).finals).toEqual(new Map([['["by_xy","a","b",0]', [{ x: 'a', y: 'b' }, { n: 5, sum: 131 }]]]));
    const tombstones = result.records.filter((r) => r.topic === PARTIALS && r.value === null).map((r) => r.key);
    expect(tombstones.sort()).toEqual(['["by_xy","a","b",0]|0', 'by_xy|a|b|0|0', 'by_xy|a|b|0|1']);
    expect(store.windows.size).toBe(0);
  });

  it('in a merge lane, comes from a partial sent under a legacy record key: stored under the new key, the old record tombstoned', () => {
    const cross = window('by_xy', ['x', 'y']);
    const store = new MemoryStore(spec([cross]));
    const merge = new MergeProcessor({ window: cross, outputTopic: TOPICS.output, partialsTopic: PARTIALS, partition: 0, sources: 1 });
    merge.onOpen(store);
    const value = { w: 'by_xy', g: [1, 'b'], s: 0, a: [2, 3], src: 0 };
    const result = merge.process([{ offset: '0', key: Buffer.from('by_xy|1|b|0|0'), value: Buffer.from(JSON.stringify(value)), timestamp: '0' }], store.nextBatch(), Number.NEGATIVE_INFINITY);
    expect([...store.windows.keys()]).toEqual(['["by_xy",1,"b",0]|0']);
    expect(result.records).toEqual([{ topic: PARTIALS, partition: 0, key: 'by_xy|1|b|0|0', value: null }]);
  });
});
