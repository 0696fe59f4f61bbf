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
import { MAX_TRACE_LINKS, firstTraceContexts, keepTraceContext, mergeTraceContexts, traceContextOf } from '../../../src/processors/trace-links.ts';
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
  it('reads traceparent (and tracestate) from headers as clients deliver them; refuses what is no traceparent', () => {
    expect(traceContextOf(ev('a', 1, { traceparent: Buffer.from(tp(1)) }))).toBe(tp(1));
    expect(traceContextOf(ev('a', 1, { traceparent: [tp(2).toUpperCase(), tp(3)], tracestate: 'vendor=x,other=y' }))).toBe(`${tp(2)} vendor=x,other=y`);
    expect(traceContextOf(ev('a', 1))).toBeNull();
    expect(traceContextOf(ev('a', 1, { traceparent: 'not-a-traceparent' }))).toBeNull();
    expect(traceContextOf(ev('a', 1, { traceparent: `ff${tp(1).slice(2)}` }))).toBeNull();
  });

  it('keeps at most MAX_TRACE_LINKS distinct contexts, the first ones', () => {
    const state: WindowState = { w: 'w', g: [], s: 0, a: [] };
    for (let i = 0; i < 20; i++) keepTraceContext(state, tp(i % 12));
    expect(state.t).toEqual(Array.from({ length: MAX_TRACE_LINKS }, (_, i) => tp(i)));
    expect(mergeTraceContexts([tp(1), tp(2)], [tp(2), tp(3)])).toEqual([tp(1), tp(2), tp(3)]);
    expect(mergeTraceContexts(undefined, undefined)).toBeUndefined();
    expect(mergeTraceContexts(state.t, [tp(99)])).toHaveLength(MAX_TRACE_LINKS);
    const records = [ev('a', 1), ...Array.from({ length: 10 }, (_, i) => ev('a', 1, { traceparent: tp(i) }))];
    expect(firstTraceContexts(records, 0, records.length)).toEqual(Array.from({ length: MAX_TRACE_LINKS }, (_, i) => tp(i)));
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
      expect(Object.keys(windowOf(store, '["tumbling","a",0]')!)).not.toContain(traced ? 'x' : 't');
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
