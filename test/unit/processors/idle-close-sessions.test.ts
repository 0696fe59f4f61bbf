// Idle close of session windows through BatchProcessor and a real store. A session closed by
// idleness has no closed mark to stand for it (fixed windows move their geometry's), so it stays
// in the store, marked, until stream time passes its close: meanwhile an event that would join it
// is late for its window, no session starts under its key, and nothing writes its final again,
// also after the state is rebuilt from the changelog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import { committedLane } from '../../helpers/committed-lane.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import { applyChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { StoreTransaction } from '../../../src/state/store-transaction.ts';

const aggregates: WindowSpec['aggregates'] = [{ name: 'n', fn: 'count', field: undefined }, { name: 'sum', fn: 'sum', field: 'v' }];
/** gap 10, grace 5: a session closes by stream time at its last event + 15 */
const SESSION: WindowSpec = { name: 's', groupBy: ['k'], kind: 'session', sizeMs: 10, advanceMs: 10, graceMs: 5, emit: 'final', closeIdleAfterMs: 2000, aggregates };
const TUMBLING: WindowSpec = { name: 't', groupBy: ['k'], kind: 'tumbling', sizeMs: 1000, advanceMs: 1000, graceMs: 0, emit: 'final', aggregates };
const spec = (windows: WindowSpec[]): PipelineSpec => ({ keyField: 'k', idField: 'id', dedupeTtlMs: 1000, eventTimeField: 't', maxRecordBytes: 1000, windows });

let dir: string;
let stores: PartitionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-idle-sessions-'));
});
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
  rmSync(dir, { recursive: true, force: true });
});

let offset = 0;
const ev = (k: string, t: number, v = 1, id = `e${offset}`): InputRecord => ({ offset: String(offset++), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ id, k, t, v })), timestamp: '0' });

/** A committed lane (committedLane) whose idle closes are quiet for 2 s, counting the window states they read. */
function lane(pipeline: PipelineSpec, name = 'lane.mdb', streamTimeIn = Number.NEGATIVE_INFINITY, existing?: PartitionStore) {
  const store = existing ?? new PartitionStore(join(dir, name), storeTimes(pipeline));
  if (existing === undefined) stores.push(store);
  let reads = 0;
  const counted = (tx: StoreTransaction): StoreTransaction =>
    new Proxy(tx, {
      get: (target, prop) => {
        if (prop === 'getWindow') return (key: string) => (reads++, target.getWindow(key));
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const l = committedLane(pipeline, store, streamTimeIn, counted);
  return {
    ...l,
    idle: (now: number) => {
      reads = 0;
      return l.idle(now, 2000);
    },
    /** how many window states the last idle close read */
    reads: () => reads,
  };
}

const sessionFinal = (k: string, start: number, end: number, n: number, sum: number, idle = false): string =>
  `["s","${k}",${start}] {"window":"s","group":{"k":"${k}"},"start":${start},"end":${end},"final":true,"values":{"n":${n},"sum":${sum}}${idle ? ',"closedBy":"idle"' : ''}}`;

describe('idle close of session windows', () => {
  it('writes the final of each session whose end + grace the clock passed, once, and keeps its range until stream time passes it', () => {
    const l = lane(spec([SESSION]));
    l.run([ev('a', 100, 2), ev('a', 104, 3), ev('b', 103)]);
    // Sessions a [100, 114) and b [103, 113) close by stream time at 119 and 118.
    expect(l.idle(117).finals).toEqual([]);
    expect(l.idle(118).finals).toEqual([sessionFinal('b', 103, 113, 1, 1, true)]);
    const closed = l.idle(5000);
    expect(closed.finals).toEqual([sessionFinal('a', 100, 114, 2, 5, true)]);
    expect(closed.streamTime).toBe(104);
    expect(l.store.getWindow('["s","a",100]')).toMatchObject({ s: 100, e: 114, c: 119, f: 1 });
    expect(l.idle(9000).finals).toEqual([]);
  });

  it('an event that would join a session closed by idleness is late, recording nothing; one after its end starts a session of its own', () => {
    const l = lane(spec([SESSION]));
    l.run([ev('a', 100), ev('a', 104)]);
    l.idle(5000);
    // Within the closed session's range, at its start (whose key it would reuse), and before it within the gap.
    const late = l.run([ev('a', 110, 1, 'x'), ev('a', 100), ev('a', 91)]);
    expect(late.dead).toEqual(['late', 'late', 'late']);
    expect(late.stats.late).toBe(3);
    expect(late.streamTime).toBe(104);
    expect(l.store.getDedupe('x')).toBeUndefined();
    // At the closed session's end: a new session, closed by stream time as usual.
    expect(l.run([ev('a', 114, 7)]).dead).toEqual([]);
    expect(l.store.getWindow('["s","a",114]')).toMatchObject({ s: 114, e: 124 });
    expect(l.run([ev('b', 140)]).finals).toEqual([sessionFinal('a', 114, 124, 1, 7)]);
  });

  it('stream time passing the close deletes the closed session without a second final; then an overlapping event starts a session as after any close', () => {
    const l = lane(spec([SESSION]));
    l.run([ev('a', 100), ev('a', 104)]);
    l.idle(5000);
    const passed = l.run([ev('b', 119)]);
    expect(passed.finals).toEqual([]);
    expect(l.store.getWindow('["s","a",100]')).toBeUndefined();
    expect(l.changelog.filter((r) => r.key === 'w|["s","a",100]').at(-1)?.value).toBeNull();
    // [110, 120) is not late by stream time (119 < 110 + 10 + 5) and no closed session is left to join.
    expect(l.run([ev('a', 110)]).dead).toEqual([]);
    expect(l.store.getWindow('["s","a",110]')).toMatchObject({ s: 110, e: 120 });
  });

  it('next to a window that still takes the event, the event is counted there and not in the closed session', () => {
    const l = lane(spec([SESSION, TUMBLING]));
    l.run([ev('a', 100), ev('a', 104)]);
    expect(l.idle(5000).finals).toEqual([sessionFinal('a', 100, 114, 2, 2, true)]);
    const later = l.run([ev('a', 108, 5)]);
    expect(later.dead).toEqual([]);
    expect(l.store.getWindow('["t","a",0]')?.a).toEqual([3, 7]);
    expect(l.store.getWindow('["s","a",100]')).toMatchObject({ a: [2, 2], f: 1 });
    expect(l.run([ev('a', 2000)]).finals).toEqual([expect.stringMatching(/^\["t","a",0\]/)]);
  });

  it('the changelog carries the mark: a store rebuilt from it refuses the same events and writes no final again', () => {
    const pipeline = spec([SESSION]);
    const l = lane(pipeline);
    l.run([ev('a', 100), ev('a', 104)]);
    l.idle(5000);
    const replica = lane(pipeline, 'replica.mdb', 104);
    replica.store.write((w) => {
      for (const r of l.changelog) applyChangelogRecord(w, r.key, r.value);
    });
    expect(replica.store.getWindow('["s","a",100]')).toMatchObject({ f: 1 });
    expect(replica.idle(9000).finals).toEqual([]);
    expect(replica.run([ev('a', 100)]).dead).toEqual(['late']);
    expect(replica.run([ev('b', 200)]).finals).toEqual([]);
    expect(replica.store.getWindow('["s","a",100]')).toBeUndefined();
  });

  it('a quiet lane reads the sessions it marked once: later idle closes look only at close times past the last one, until input comes', () => {
    const l = lane(spec([SESSION]));
    l.run([ev('a', 100), ev('b', 104), ev('c', 110)]);
    // a, b and c close at 115, 119 and 125.
    expect(l.idle(120).finals).toHaveLength(2);
    expect(l.reads()).toBe(2);
    expect(l.idle(121).finals).toEqual([]);
    expect(l.reads()).toBe(0);
    expect(l.idle(125).finals).toEqual([sessionFinal('c', 110, 120, 1, 1, true)]);
    expect(l.reads()).toBe(1);
    // Input can create windows whose close time is long past on the clock: the next idle close looks at all again.
    expect(l.run([ev('d', 108)]).dead).toEqual([]);
    expect(l.idle(6000).finals).toEqual([sessionFinal('d', 108, 118, 1, 1, true)]);
    expect(l.reads()).toBe(4); // a, b and c (marked, skipped) and d
  });

  it('a session marked closed and then made a tumbling window of the same name gets no second final and counts nothing twice', () => {
    const l = lane(spec([SESSION]));
    l.run([ev('a', 1000), ev('a', 1004)]);
    expect(l.idle(50_000).finals).toHaveLength(1);
    const tumbling = lane(spec([{ ...TUMBLING, name: 's' }]), 'unused', 1004, l.store);
    expect(tumbling.run([ev('a', 1010, 7)]).finals).toEqual([]);
    expect(l.store.getWindow('["s","a",1000]')).toMatchObject({ a: [2, 2], f: 1 });
    // Stream time passes the marked session's close (1019) and the tumbling window's (2000): no final of either under that key.
    expect(tumbling.run([ev('b', 2500)]).finals).toEqual([]);
    expect(l.store.getWindow('["s","a",1000]')).toBeUndefined();
  });
});
