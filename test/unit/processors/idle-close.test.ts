// Idle close through BatchProcessor and a real store: which windows a quiet partition closes by
// wall clock, the marker on their finals, that a later event for them is late (also after the
// state is rebuilt from the changelog), and that nothing else changes: stream time, the windows
// of other definitions, windows whose close time the clock has not reached.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import { committedLane } from '../../helpers/committed-lane.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import { shortestCloseIdleAfter } from '../../../src/processors/idle-close.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { BatchResult } from '../../../src/processors/batch-processor.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import { applyChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';

const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const aggregates: WindowSpec['aggregates'] = [{ name: 'n', fn: 'count', field: undefined }, { name: 'sum', fn: 'sum', field: 'v' }];
/** tumbling 100, grace 10, idle after 2000; hopping without idle close (session windows cannot close by idleness) */
const SPEC: PipelineSpec = {
  keyField: 'k',
  idField: 'id',
  dedupeTtlMs: 1000,
  eventTimeField: 't',
  maxRecordBytes: 1000,
  windows: [
    { name: 'idle', groupBy: ['k'], kind: 'tumbling', sizeMs: 100, advanceMs: 100, graceMs: 10, emit: 'final', closeIdleAfterMs: 2000, aggregates },
    { name: 'stream', groupBy: ['k'], kind: 'hopping', sizeMs: 200, advanceMs: 100, graceMs: 10, emit: 'final', aggregates },
  ],
};

let dir: string;
let stores: PartitionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-idle-'));
});
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
  rmSync(dir, { recursive: true, force: true });
});

let offset = 0;
const ev = (k: string, t: number, v = 1, id = `e${offset}`): InputRecord => ({ offset: String(offset++), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ id, k, t, v })), timestamp: '0' });

function open(name: string): PartitionStore {
  const store = new PartitionStore(join(dir, name), storeTimes(SPEC));
  stores.push(store);
  return store;
}

/** One lane whose every run is a committed transaction; the changelog is kept for a replica. */
const lane = (store = open('lane.mdb'), streamTimeIn = Number.NEGATIVE_INFINITY) => committedLane(SPEC, store, streamTimeIn);

const idleFinal = (window: string, k: string, start: number, end: number, n: number, sum: number): string =>
  `["${window}","${k}",${start}] {"window":"${window}","group":{"k":"${k}"},"start":${start},"end":${end},"final":true,"values":{"n":${n},"sum":${sum}},"closedBy":"idle"}`;

describe('idle close', () => {
  it('closes the windows of idle definitions whose end + grace the clock has passed, marked closedBy idle; nothing else', () => {
    const l = lane();
    l.run([ev('a', 100, 2), ev('a', 150, 3), ev('b', 180), ev('a', 205)]);
    // Quiet for 2 s at wall time 1000: `idle` [100, 200) and [200, 300) are due (close 210, 310);
    // `stream` has no closeIdleAfter.
    const closed = l.idle(1000, 2000);
    expect(closed.finals).toEqual([idleFinal('idle', 'a', 100, 200, 2, 5), idleFinal('idle', 'b', 100, 200, 1, 1), idleFinal('idle', 'a', 200, 300, 1, 1)]);
    expect(closed.stats.finals).toBe(3);
    expect(closed.streamTime).toBe(205);
    expect(l.store.meta().streamTime).toBe(205);
    expect(l.store.closedThrough('idle@100/100')).toBe(200);
    expect(l.store.closedThrough('stream@200/100')).toBe(Number.NEGATIVE_INFINITY);
    for (const open of ['["stream","a",0]', '["stream","a",100]', '["stream","a",200]', '["stream","b",0]', '["stream","b",100]']) expect(l.store.getWindow(open), open).toBeDefined();
    // Quiet for less than closeIdleAfter: nothing.
    expect(l.idle(1000, 1999).finals).toEqual([]);
  });

  it('leaves a window open while the clock has not reached its end + grace', () => {
    const l = lane();
    l.run([ev('a', 100)]);
    // The tumbling window [100, 200) closes at 210.
    expect(l.idle(209, 10_000).finals).toEqual([]);
    expect(l.idle(210, 10_000).finals).toEqual([idleFinal('idle', 'a', 100, 200, 1, 1)]);
  });

  it('counts a later event in no window it closed, so its final is never written twice', () => {
    const l = lane();
    l.run([ev('a', 100), ev('a', 205)]);
    expect(l.idle(1000, 2000).finals.filter((f) => f.startsWith('["idle"'))).toHaveLength(2);
    // [200, 300) would be open by stream time (close 310 > 205); it closed by idleness.
    const later = l.run([ev('a', 250, 7)]);
    // `stream` [100, 300) and [200, 400) still take it, so it is no dead letter...
    expect(later.dead).toEqual([]);
    expect(l.store.getWindow('["stream","a",200]')?.a).toEqual([2, 8]);
    // ...but `idle` [200, 300) is final and counts it nowhere.
    expect(l.store.getWindow('["idle","a",200]')).toBeUndefined();
    expect(l.idle(2000, 5000).finals.filter((f) => f.startsWith('["idle"'))).toEqual([]);
  });

  it('a partition whose windows all closed by idleness dead-letters a later event as late', () => {
    const spec: PipelineSpec = { ...SPEC, windows: [SPEC.windows[0]!] };
    const store = new PartitionStore(join(dir, 'one.mdb'), storeTimes(spec));
    stores.push(store);
    const processor = new BatchProcessor(spec, TOPICS, 0);
    const run = (f: (tx: StoreTransaction) => BatchResult) => {
      const tx = new StoreTransaction(store, storeTimes(spec));
      const result = f(tx);
      tx.commitLocal(undefined, { inputOffset: '1', changelogNext: undefined, streamTime: result.streamTime });
      return result;
    };
    run((tx) => processor.process([ev('a', 100), ev('a', 150)], tx, Number.NEGATIVE_INFINITY));
    expect(run((tx) => processor.closeIdle(tx, 150, 1000, 2000)).records).toHaveLength(1);
    // By stream time (150) the window [100, 200) would take 160 until 210; it closed by idleness.
    const late = run((tx) => processor.process([ev('b', 160)], tx, 150));
    expect(late.records.map((r) => r.headers?.[DLQ_HEADER.reason])).toEqual(['late']);
    expect(late.stats.late).toBe(1);
  });

  it('a retry of a counted event is still a duplicate after its window closed by idleness', () => {
    const l = lane();
    l.run([ev('a', 100, 1, 'x')]);
    l.idle(1000, 2000);
    const retry = l.run([ev('a', 100, 1, 'x')]);
    expect(retry.stats.duplicates).toBe(1);
    expect(retry.dead).toEqual([]);
  });

  it('the changelog carries the close: a store rebuilt from it finds the same windows closed', () => {
    const l = lane();
    l.run([ev('a', 100), ev('b', 130), ev('a', 230)]);
    l.idle(1000, 2000);
    const replica = open('replica.mdb');
    replica.write((w) => {
      for (const r of l.changelog) applyChangelogRecord(w, r.key, r.value);
    });
    const view = (s: PartitionStore) => ({ closed: s.closedThrough('idle@100/100'), windows: [...s.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100)].sort() });
    expect(view(replica)).toEqual(view(l.store));
    expect(view(replica).closed).toBe(200);
    // The rebuilt lane writes no second final, and dead-letters nothing it should take.
    const rebuilt = lane(replica, 230);
    expect(rebuilt.idle(3000, 2000).finals.filter((f) => f.startsWith('["idle"'))).toEqual([]);
  });

  it('the lane idles after the shortest closeIdleAfter', () => {
    expect(shortestCloseIdleAfter(SPEC.windows)).toBe(2000);
    expect(shortestCloseIdleAfter([SPEC.windows[1]!])).toBeUndefined();
  });
});
