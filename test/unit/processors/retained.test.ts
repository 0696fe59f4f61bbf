// Closed windows' finals kept for queries (http.queryRetention) by the processors that write
// finals: the source lane closing by stream time and by idleness (real store and changelog), and
// the merge lane (in memory). What is kept must be the emitted final, and nothing at all with 0s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { RetainedFinal } from '../../../src/model/window-state.ts';
import { MergeProcessor } from '../../../src/processors/merge-processor.ts';
import { formatOutput } from '../../../src/processors/output-record.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import { applyChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { committedLane } from '../../helpers/committed-lane.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const aggregates: WindowSpec['aggregates'] = [{ name: 'n', fn: 'count', field: undefined }, { name: 'sum', fn: 'sum', field: 'v' }];
/** tumbling 100 grace 10, session gap 10 grace 5; both close by idleness after 2 s quiet */
const FIXED: WindowSpec = { name: 'fixed', groupBy: ['k'], kind: 'tumbling', sizeMs: 100, advanceMs: 100, graceMs: 10, emit: 'final', closeIdleAfterMs: 2000, aggregates };
const SESSION: WindowSpec = { name: 'sess', groupBy: ['k'], kind: 'session', sizeMs: 10, advanceMs: 10, graceMs: 5, emit: 'final', closeIdleAfterMs: 2000, aggregates };
const RETENTION = 60_000;
const spec = (queryRetentionMs: number, windows = [FIXED]): PipelineSpec => ({ keyField: 'k', idField: 'id', dedupeTtlMs: 1000, eventTimeField: 't', maxRecordBytes: 1000, windows, queryRetentionMs });

let dir: string;
let stores: PartitionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-retained-'));
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_000_000);
});
afterEach(async () => {
  vi.useRealTimers();
  for (const s of stores) await s.close();
  stores = [];
  rmSync(dir, { recursive: true, force: true });
});

let offset = 0;
const ev = (k: string, t: number, v = 1): InputRecord => ({ offset: String(offset), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ id: `e${offset++}`, k, t, v })), timestamp: '0' });

function open(s: PipelineSpec, name = 'lane.mdb'): PartitionStore {
  const store = new PartitionStore(join(dir, name), storeTimes(s));
  stores.push(store);
  return store;
}

const retained = (store: PartitionStore): [string, RetainedFinal][] => [...store.retainedWithPrefix('')];

/** The output line a retained final stands for: it must be the final the lane emitted. */
function asFinal(win: WindowSpec, [key, r]: [string, RetainedFinal]): string {
  const { value } = formatOutput(win, r.state.g, r.state.s, r.state.a, true, key, undefined, { end: r.state.e, closedBy: r.closedBy });
  return `${key} ${String(value)}`;
}

describe('finals retained by a source lane', () => {
  it('a window closed by stream time is retained under its key with the emitted final, until now + retention', () => {
    const s = spec(RETENTION);
    const l = committedLane(s, open(s));
    l.run([ev('a', 100, 2), ev('a', 150, 3), ev('b', 120)]);
    const closed = l.run([ev('a', 300)]);
    expect(closed.finals).toHaveLength(2);
    const kept = retained(l.store);
    expect(kept.map((e) => asFinal(FIXED, e))).toEqual(closed.finals);
    expect(kept.map(([, r]) => r)).toEqual([
      { state: { w: 'fixed', g: ['a'], s: 100, a: [2, 5] }, until: 1_000_000 + RETENTION },
      { state: { w: 'fixed', g: ['b'], s: 100, a: [1, 1] }, until: 1_000_000 + RETENTION },
    ]);
    // Still late for its window: retained finals are not open windows.
    expect(l.run([ev('a', 150)]).dead).toEqual(['late']);
  });

  it('an idle close retains its finals marked closedBy idle, until now + retention; a session once', () => {
    const s = spec(RETENTION, [FIXED, SESSION]);
    const l = committedLane(s, open(s));
    l.run([ev('a', 100, 2), ev('a', 104, 3)]);
    // The lane passes its wall clock as `now`, which is the clock expiry compares with.
    const closed = l.idle(Date.now(), 2000);
    expect(closed.finals).toHaveLength(2);
    const kept = retained(l.store);
    expect(kept.map(([, r]) => [r.state, r.closedBy, r.until])).toEqual([
      [{ w: 'fixed', g: ['a'], s: 100, a: [2, 5] }, 'idle', 1_000_000 + RETENTION],
      [{ w: 'sess', g: ['a'], s: 100, e: 114, a: [2, 5] }, 'idle', 1_000_000 + RETENTION],
    ]);
    expect(kept.map((e) => asFinal(e[1].state.w === 'fixed' ? FIXED : SESSION, e)).sort()).toEqual([...closed.finals].sort());
    // Stream time passing the idle-closed session deletes it without a second final, nor a second retained one.
    const later = l.run([ev('c', 500)]);
    expect(later.finals.filter((f) => f.startsWith('["sess","a"'))).toEqual([]);
    expect(l.changelog.filter((r) => r.key.startsWith('r|["sess"'))).toHaveLength(1);
    expect(l.store.getWindow('["sess","a",100]')).toBeUndefined();
    expect(retained(l.store)).toEqual(kept);
  });

  it('retention 0s writes no retained entry and no changelog record beyond what it wrote before', () => {
    const s = spec(0, [FIXED, SESSION]);
    const l = committedLane(s, open(s));
    l.run([ev('a', 100, 2), ev('b', 104, 3)]);
    expect(l.idle(5000, 2000).finals).toHaveLength(4);
    // By stream time: fixed [300, 400) and the session at 300.
    expect(l.run([ev('a', 300), ev('c', 500)]).finals).toHaveLength(2);
    expect(retained(l.store)).toEqual([]);
    expect(l.store.stats().stores.filter((st) => st.store.startsWith('retained')).map((st) => st.entries)).toEqual([0, 0]);
    expect(l.changelog.filter((r) => r.key.startsWith('r|'))).toEqual([]);
  });

  it('drops a retained final once the wall clock reaches its until, in the next transaction, and so does a replica', () => {
    const s = spec(RETENTION);
    const l = committedLane(s, open(s));
    l.run([ev('a', 100)]);
    l.run([ev('b', 300)]);
    expect(retained(l.store)).toHaveLength(1);
    vi.setSystemTime(1_000_000 + RETENTION - 1);
    l.run([]);
    expect(retained(l.store)).toHaveLength(1);
    const replica = open(s, 'replica.mdb');
    replica.write((w) => {
      for (const r of l.changelog) applyChangelogRecord(w, r.key, r.value);
    });
    expect(retained(replica)).toEqual(retained(l.store));
    vi.setSystemTime(1_000_000 + RETENTION);
    l.run([]);
    expect(retained(l.store)).toEqual([]);
    expect(l.changelog.at(-1)).toEqual({ key: 'r|["fixed","a",100]', value: null });
    replica.write((w) => applyChangelogRecord(w, 'r|["fixed","a",100]', null));
    expect(retained(replica)).toEqual([]);
  });

  it('finals retained under a longer retention still expire after it is set to 0s', () => {
    const s = spec(RETENTION);
    const store = open(s);
    committedLane(s, store).run([ev('a', 100), ev('b', 300)]);
    expect(retained(store)).toHaveLength(1);
    vi.setSystemTime(1_000_000 + RETENTION);
    committedLane(spec(0), store, 300).run([]);
    expect(retained(store)).toEqual([]);
  });
});

describe('finals retained by a merge lane', () => {
  const cross: WindowSpec = { ...FIXED, name: 'by_x', groupBy: ['x'], closeIdleAfterMs: undefined };
  const record = (key: string, value: unknown): InputRecord => ({ offset: '0', key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), timestamp: '0' });
  const partials = [
    record('["by_x","a",100]|0', { w: 'by_x', g: ['a'], s: 100, a: [2, 5], src: 0, t: ['00-trace-a'] }),
    record('["by_x","a",100]|1', { w: 'by_x', g: ['a'], s: 100, a: [1, 7], src: 1 }),
    record('__wm|0', { wm: 1000 }),
    record('__wm|1', { wm: 1000 }),
  ];

  it('retains the merged final under the window key, with no source suffix, trace contexts or close time', () => {
    const store = new MemoryStore(spec(0, [cross]));
    const merge = new MergeProcessor({ window: cross, outputTopic: 'out', partialsTopic: 'p', partition: 0, sources: 2, queryRetentionMs: RETENTION });
    merge.onOpen(store);
    const result = merge.process(partials, store.nextBatch(), Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, true);
    const finals = result.records.filter((r) => r.topic === 'out').map((r) => `${String(r.key)} ${String(r.value)}`);
    expect([...store.retained]).toEqual([['["by_x","a",100]', { state: { w: 'by_x', g: ['a'], s: 100, a: [3, 12] }, until: 1_000_000 + RETENTION }]]);
    expect([...store.retained].map((e) => asFinal(cross, e))).toEqual(finals);
    vi.setSystemTime(1_000_000 + RETENTION);
    merge.process([], store.nextBatch(), Number.NEGATIVE_INFINITY);
    expect(store.retained.size).toBe(0);
  });

  it('retains nothing with retention 0s', () => {
    const store = new MemoryStore(spec(0, [cross]));
    const merge = new MergeProcessor({ window: cross, outputTopic: 'out', partialsTopic: 'p', partition: 0, sources: 2 });
    merge.onOpen(store);
    expect(merge.process(partials, store.nextBatch(), Number.NEGATIVE_INFINITY).stats.finals).toBe(1);
    expect(store.retained.size).toBe(0);
  });
});
