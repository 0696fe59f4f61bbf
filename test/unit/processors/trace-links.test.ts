// Input trace contexts in window state (processors/trace-links.ts): what a traced batch keeps,
// bounded and deduplicated, through sessions, idle closes, partials and merges, and through LMDB
// and the changelog; and that an untraced batch keeps nothing, so its state is as before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import type { InputRecord, OutRecord } from '../../../src/model/records.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import { MergeProcessor } from '../../../src/processors/merge-processor.ts';
import { MAX_TRACESTATE_LENGTH, MAX_TRACE_LINKS, firstTraceContexts, keepTraceContext, mergeTraceContexts, traceContextOf } from '../../../src/processors/trace-links.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import type { WindowState } from '../../../src/model/window-state.ts';
import { applyChangelogRecord } from '../../../src/state/changelog-codec.ts';
import type { ChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const aggregates: WindowSpec['aggregates'] = [{ name: 'n', fn: 'count', field: undefined }];
const tumbling: WindowSpec = { name: 'tumbling', groupBy: ['k'], kind: 'tumbling', sizeMs: 100, advanceMs: 100, graceMs: 0, emit: 'final', closeIdleAfterMs: 2000, aggregates };
const session: WindowSpec = { name: 'session', groupBy: ['k'], kind: 'session', sizeMs: 50, advanceMs: 50, graceMs: 100, emit: 'final', aggregates };
const spec = (windows: WindowSpec[]): PipelineSpec => ({ keyField: 'k', idField: undefined, dedupeTtlMs: undefined, eventTimeField: 't', maxRecordBytes: 10_000, windows });

const tp = (n: number) => `00-${n.toString(16).padStart(32, '0')}-${n.toString(16).padStart(16, '0')}-01`;
let offset = 0;
const ev = (k: string, t: number, headers?: InputRecord['headers']): InputRecord => ({ offset: String(offset++), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ k, t })), timestamp: '0', headers });
const windowOf = (store: MemoryStore, key: string): WindowState | undefined => store.windows.get(key);

describe('trace contexts of records', () => {
  it('reads traceparent (and tracestate) from headers as clients deliver them', () => {
    expect(traceContextOf(ev('a', 1, { traceparent: Buffer.from(tp(1)) }))).toBe(tp(1));
    expect(traceContextOf(ev('a', 1, { traceparent: ` ${tp(2)} `, tracestate: Buffer.from('vendor=x,other=y') }))).toBe(`${tp(2)} vendor=x,other=y`);
    // W3C lets tracestate be split over repeated headers.
    expect(traceContextOf(ev('a', 1, { traceparent: tp(2), tracestate: ['vendor=x', Buffer.from('other=y')] }))).toBe(`${tp(2)} vendor=x,other=y`);
    // A version after 00 may add fields: its first 55 characters are kept.
    expect(traceContextOf(ev('a', 1, { traceparent: `01${tp(3).slice(2)}-later` }))).toBe(`01${tp(3).slice(2)}`);
    expect(traceContextOf(ev('a', 1))).toBeNull();
  });

  // kafkajs hands a header without a value as null, whatever its types say.
  const asHeaders = (h: Record<string, unknown>) => h as InputRecord['headers'];
  it.each([
    ['null', asHeaders({ traceparent: null })],
    ['empty', { traceparent: '' }],
    ['an empty buffer', { traceparent: Buffer.alloc(0) }],
    ['repeated, a null first', asHeaders({ traceparent: [null, tp(1)] })],
    ['repeated', { traceparent: [tp(1), tp(2)] }],
    ['garbage', { traceparent: 'not-a-traceparent' }],
    ['garbage of the right length', { traceparent: 'x'.repeat(55) }],
    ['binary', { traceparent: Buffer.from([0xff, 0x00, 0x2d, 0x80]) }],
    ['upper case', { traceparent: '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01' }],
    ['version ff', { traceparent: `ff${tp(1).slice(2)}` }],
    ['version 00 with more', { traceparent: `${tp(1)}-01` }],
    ['a later version with more, not after a dash', { traceparent: `01${tp(1).slice(2)}x` }],
    ['too short', { traceparent: tp(1).slice(0, 54) }],
    ['an id too long', { traceparent: `00-${'1'.repeat(33)}-${'1'.repeat(16)}-01` }],
    ['an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` }],
    ['an all-zero span id', { traceparent: `00-${'1'.repeat(32)}-${'0'.repeat(16)}-01` }],
    ['a tracestate alone', { tracestate: 'vendor=x' }],
  ])('ignores a traceparent that is %s', (_, headers) => {
    expect(traceContextOf(ev('a', 1, headers))).toBeNull();
  });

  it.each([
    ['null', asHeaders({ traceparent: tp(1), tracestate: null })],
    ['nulls', asHeaders({ traceparent: tp(1), tracestate: [null, Buffer.alloc(0), ' '] })],
    ['longer than 512 characters', { traceparent: tp(1), tracestate: `v=${'x'.repeat(MAX_TRACESTATE_LENGTH - 1)}` }],
    ['longer than 512 characters once joined', { traceparent: tp(1), tracestate: [`v=${'x'.repeat(300)}`, `w=${'x'.repeat(300)}`] }],
  ])('keeps the traceparent alone when tracestate is %s', (_, headers) => {
    expect(traceContextOf(ev('a', 1, headers))).toBe(tp(1));
  });

  it('processes records with such headers as any other, and keeps nothing of theirs', () => {
    const s = spec([tumbling]);
    const store = new MemoryStore(s);
    const bad = [asHeaders({ traceparent: null }), asHeaders({ traceparent: [null, tp(1)], tracestate: null }), asHeaders({ tracestate: [null] }), { traceparent: 'garbage' }];
    const result = new BatchProcessor(s, TOPICS, 0).process(
      bad.map((h) => ev('a', 10, h)),
      store,
      Number.NEGATIVE_INFINITY,
      undefined,
      true,
    );
    expect(result.consumed).toBe(bad.length);
    expect(result.records.filter((r) => r.topic === TOPICS.deadLetter)).toEqual([]);
    expect(windowOf(store, '["tumbling","a",0]')).toMatchObject({ a: [bad.length] });
    expect(windowOf(store, '["tumbling","a",0]')?.t).toBeUndefined();
  });

  it('bounds what a window keeps however large the inputs\' tracestates', () => {
    const cross: WindowSpec = { ...tumbling, name: 'cross', groupBy: ['r'], closeIdleAfterMs: undefined };
    const s = spec([tumbling, cross]);
    const store = new MemoryStore(s);
    const p = new BatchProcessor(s, { ...TOPICS, partials: new Map([['cross', 'partials']]), partialsPartitions: 1 }, 0);
    const huge = `v=${'x'.repeat(200_000)}`;
    const longest = `v=${'y'.repeat(MAX_TRACESTATE_LENGTH - 2)}`;
    const records = Array.from({ length: MAX_TRACE_LINKS }, (_, i) => ({ ...ev('a', 10, { traceparent: tp(i + 1), tracestate: i % 2 === 0 ? huge : longest }), value: Buffer.from(JSON.stringify({ k: 'a', r: 'eu', t: 10 })) }));
    const result = p.process(records, store, Number.NEGATIVE_INFINITY, undefined, true);
    const kept = windowOf(store, '["tumbling","a",0]')!.t!;
    expect(kept).toEqual(Array.from({ length: MAX_TRACE_LINKS }, (_, i) => (i % 2 === 0 ? tp(i + 1) : `${tp(i + 1)} ${longest}`)));
    // The state, its changelog record and the partial stay small: at most 8 x (55 + 1 + 512) characters of contexts.
    const bound = MAX_TRACE_LINKS * (55 + 1 + MAX_TRACESTATE_LENGTH) + 1000;
    expect(JSON.stringify(windowOf(store, '["tumbling","a",0]')).length).toBeLessThan(bound);
    const partial = result.records.find((r) => r.topic === 'partials' && String(r.key).startsWith('["cross"'))!;
    expect(String(partial.value).length).toBeLessThan(bound);
    expect(JSON.parse(String(partial.value)).t).toEqual(kept);
  });

  it('keeps at most MAX_TRACE_LINKS distinct contexts, the first ones', () => {
    const state: WindowState = { w: 'w', g: [], s: 0, a: [] };
    for (let i = 0; i < 20; i++) keepTraceContext(state, tp(i % 12));
    expect(state.t).toEqual(Array.from({ length: MAX_TRACE_LINKS }, (_, i) => tp(i)));
    expect(mergeTraceContexts([tp(1), tp(2)], [tp(2), tp(3)])).toEqual([tp(1), tp(2), tp(3)]);
    expect(mergeTraceContexts(undefined, undefined)).toBeUndefined();
    expect(mergeTraceContexts(state.t, [tp(99)])).toHaveLength(MAX_TRACE_LINKS);
    const records = [ev('a', 1), ...Array.from({ length: 10 }, (_, i) => ev('a', 1, { traceparent: tp(i + 1) }))];
    expect(firstTraceContexts(records, 0, records.length)).toEqual(Array.from({ length: MAX_TRACE_LINKS }, (_, i) => tp(i + 1)));
  });
});

describe('a traced batch', () => {
  it('keeps its inputs in the window and lists the window result with them; untraced, state and result are as before', () => {
    const s = spec([tumbling]);
    for (const traced of [true, false]) {
      const store = new MemoryStore(s);
      const p = new BatchProcessor(s, TOPICS, 0);
      p.process([ev('a', 10, { traceparent: tp(1) }), ev('a', 20), ev('a', 30, { traceparent: tp(2) })], store, Number.NEGATIVE_INFINITY, undefined, traced);
      expect(windowOf(store, '["tumbling","a",0]')?.t).toEqual(traced ? [tp(1), tp(2)] : undefined);
      // Untraced, not even a `t: undefined`: the state is byte for byte as before tracing.
      expect('t' in windowOf(store, '["tumbling","a",0]')!).toBe(traced);
      const closing = p.process([ev('a', 150, { traceparent: tp(3) })], store.nextBatch(), 30, undefined, traced);
      const final = closing.records.find((r) => r.topic === TOPICS.output)!;
      expect(closing.traced).toEqual(traced ? [{ record: final, links: [tp(1), tp(2)], final: true }] : undefined);
    }
  });

  it('merges the contexts of sessions an event joins', () => {
    const s = spec([session]);
    const store = new MemoryStore(s);
    const p = new BatchProcessor(s, TOPICS, 0);
    // Two sessions [10, 60) and [100, 150), open in grace, then an event at 55 that bridges them.
    p.process([ev('a', 10, { traceparent: tp(1) }), ev('a', 100, { traceparent: tp(2) })], store, Number.NEGATIVE_INFINITY, undefined, true);
    p.process([ev('a', 55, { traceparent: tp(3) })], store.nextBatch(), 100, undefined, true);
    expect([...store.windows.values()].map((w) => w.t)).toEqual([[tp(1), tp(2), tp(3)]]);
  });

  it('lists what an idle close writes with its window contexts', () => {
    const s = spec([tumbling]);
    const store = new MemoryStore(s);
    const p = new BatchProcessor(s, TOPICS, 0);
    p.process([ev('a', 10, { traceparent: tp(1) })], store, Number.NEGATIVE_INFINITY, undefined, true);
    const idle = p.closeIdle(store.nextBatch(), 10, 10_000, 5000, true);
    expect(idle.traced?.map((r) => [r.record.key, r.links])).toEqual([['["tumbling","a",0]', [tp(1)]]]);
  });

  it('carries contexts through partials to the merged final', () => {
    const cross: WindowSpec = { ...tumbling, name: 'cross', groupBy: ['r'], closeIdleAfterMs: undefined };
    const s = spec([cross]);
    const partials = new Map([['cross', 'partials']]);
    const partialsOf = (source: number, contexts: string[]): OutRecord[] => {
      const store = new MemoryStore(s);
      const p = new BatchProcessor(s, { ...TOPICS, partials, partialsPartitions: 1 }, source);
      const records = contexts.map((c, i) => ({ ...ev('a', 10 + i, { traceparent: c }), value: Buffer.from(JSON.stringify({ k: 'a', r: 'eu', t: 10 + i })) }));
      return p.process([...records, { ...ev('a', 500), value: Buffer.from(JSON.stringify({ k: 'a', r: 'zz', t: 500 })) }], store, Number.NEGATIVE_INFINITY, undefined, true).records;
    };
    const sent = [...partialsOf(0, [tp(1), tp(2)]), ...partialsOf(1, [tp(3)])];
    expect(JSON.parse(String(sent.find((r) => String(r.key).startsWith('["cross","eu"'))!.value)).t).toEqual([tp(1), tp(2)]);
    const merge = new MergeProcessor({ window: cross, outputTopic: TOPICS.output, partialsTopic: 'partials', partition: 0, sources: 2 });
    const store = new MemoryStore(s);
    merge.onOpen(store);
    const inputs: InputRecord[] = sent.map((r, i) => ({ offset: String(i), key: Buffer.from(String(r.key)), value: Buffer.from(String(r.value)), timestamp: '0' }));
    const result = merge.process(inputs, store, 0, undefined, true);
    expect(result.traced?.map((r) => [r.record.key, r.links])).toEqual([['["cross","eu",0]', [tp(1), tp(2), tp(3)]]]);
  });
});

describe('an untraced batch after a traced one', () => {
  it('sends no contexts in partials and the merge lane keeps none, though the window state has some', () => {
    const cross: WindowSpec = { ...tumbling, name: 'cross', groupBy: ['r'], closeIdleAfterMs: undefined };
    const s = spec([cross]);
    const store = new MemoryStore(s);
    const p = new BatchProcessor(s, { ...TOPICS, partials: new Map([['cross', 'partials']]), partialsPartitions: 1 }, 0);
    const event = (t: number, headers?: InputRecord['headers']) => ({ ...ev('a', t, headers), value: Buffer.from(JSON.stringify({ k: 'a', r: 'eu', t })) });
    p.process([event(10, { traceparent: tp(1) })], store, Number.NEGATIVE_INFINITY, undefined, true);
    const untraced = p.process([event(20, { traceparent: tp(2) })], store.nextBatch(), 10, undefined, false);
    expect(windowOf(store, '["cross","eu",0]')?.t).toEqual([tp(1)]);
    const partial = untraced.records.find((r) => r.topic === 'partials' && String(r.key).startsWith('["cross"'))!;
    expect(JSON.parse(String(partial.value))).toEqual({ w: 'cross', g: ['eu'], s: 0, a: [2], src: 0 });

    // A partial a traced source sent, to a merge lane that does not trace.
    const merge = new MergeProcessor({ window: cross, outputTopic: TOPICS.output, partialsTopic: 'partials', partition: 0, sources: 1 });
    const mergeStore = new MemoryStore(s);
    merge.onOpen(mergeStore);
    const sent = JSON.stringify({ w: 'cross', g: ['eu'], s: 0, a: [1], src: 0, t: [tp(1)] });
    merge.process([{ offset: '0', key: Buffer.from('["cross","eu",0]|0'), value: Buffer.from(sent), timestamp: '0' }], mergeStore, 0, undefined, false);
    expect([...mergeStore.windows.values()]).toEqual([{ w: 'cross', g: ['eu'], s: 0, a: [1] }]);
  });
});

describe('contexts in state', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-trace-links-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('survive an LMDB commit and a restore from the changelog', async () => {
    const s = spec([tumbling]);
    const store = new PartitionStore(join(dir, 'a.mdb'), storeTimes(s));
    const tx = new StoreTransaction(store, storeTimes(s));
    new BatchProcessor(s, TOPICS, 0).process([ev('a', 10, { traceparent: tp(1), tracestate: 'v=1' })], tx, Number.NEGATIVE_INFINITY, undefined, true);
    const changelog: ChangelogRecord[] = tx.changelogRecords();
    tx.commitLocal(undefined, { inputOffset: '1', changelogNext: undefined, streamTime: 10 });
    expect(store.getWindow('["tumbling","a",0]')?.t).toEqual([`${tp(1)} v=1`]);
    const replica = new PartitionStore(join(dir, 'b.mdb'), storeTimes(s));
    replica.write((w) => {
      for (const r of changelog) applyChangelogRecord(w, r.key, r.value);
    });
    expect(replica.getWindow('["tumbling","a",0]')?.t).toEqual([`${tp(1)} v=1`]);
    await store.close();
    await replica.close();
  });
});
