// What the lanes open here answer of a window and group: open windows, sessions an idle close
// finalized, finals kept for queries, a merge lane's partials merged, and where a group lives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerLocally, candidateGroups, locateGroup } from '../../../src/consumers/interactive-query.ts';
import type { QueryContext } from '../../../src/consumers/interactive-query.ts';
import { OpenLanes } from '../../../src/consumers/open-lanes.ts';
import type { LaneStateReader } from '../../../src/consumers/open-lanes.ts';
import { defaultPartition } from '../../../src/model/key-partition.ts';
import type { RetainedFinal, WindowState } from '../../../src/model/window-state.ts';
import { windowKey } from '../../../src/processors/output-record.ts';
import { mergePartition } from '../../../src/processors/partials.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';

const perPlayer: WindowSpec = { name: 'per_player', groupBy: ['playerId'], kind: 'tumbling', sizeMs: 60_000, advanceMs: 60_000, graceMs: 0, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }] };
const sessions: WindowSpec = { ...perPlayer, name: 'sessions', kind: 'session', sizeMs: 10_000 };
const perRegion: WindowSpec = { ...perPlayer, name: 'per_region', groupBy: ['region'], aggregates: [{ name: 'points', fn: 'sum', field: 'points' }] };
const spec: PipelineSpec = { keyField: 'playerId', idField: undefined, dedupeTtlMs: undefined, eventTimeField: undefined, maxRecordBytes: 1 << 20, windows: [perPlayer, sessions, perRegion] };
const ctx: QueryContext = { spec, applicationId: 'app', inputTopic: 'in', partitions: 4 };

function reader(windows: [string, WindowState][], retained: [string, RetainedFinal][] = [], inputOffset = '10', streamTime = 100_000): LaneStateReader {
  const sorted = <T>(entries: [string, T][], prefix: string) => entries.filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    windowsWithPrefix: (prefix) => sorted(windows, prefix),
    retainedWithPrefix: (prefix) => sorted(retained, prefix),
    meta: () => ({ inputOffset, streamTime }),
  };
}

const state = (w: WindowSpec, g: unknown[], s: number, a: unknown[], more: Partial<WindowState> = {}): [string, WindowState] => [windowKey(w.name, g, s), { w: w.name, g, s, a, ...more }];
const query = (window: string, group: unknown[][], from?: number, to?: number) => ({ window, group, from, to });

describe('answerLocally, partition-local windows', () => {
  it('lists open windows as not final and retained ones as final, within the start bounds', () => {
    const lanes = new OpenLanes();
    const open = [state(perPlayer, ['p1'], 120_000, [2]), state(perPlayer, ['p1'], 180_000, [1]), state(perPlayer, ['p10'], 120_000, [9])];
    const kept: [string, RetainedFinal][] = [[windowKey('per_player', ['p1'], 60_000), { state: { w: 'per_player', g: ['p1'], s: 60_000, a: [5] }, until: 2_000 }]];
    lanes.add({ kind: 'source', topic: 'in', partition: 1, state: reader(open, kept), lag: () => 3 });
    const a = answerLocally(ctx, lanes, query('per_player', [['p1']], 60_000, 120_000), 100, 1_000);
    expect(a.results.sort((x, y) => x.start - y.start)).toEqual([
      { window: 'per_player', group: { playerId: 'p1' }, start: 60_000, end: 120_000, final: true, values: { n: 5 } },
      { window: 'per_player', group: { playerId: 'p1' }, start: 120_000, end: 180_000, final: false, values: { n: 2 } },
    ]);
    expect(a.freshness).toEqual([{ topic: 'in', partition: 1, committedOffset: '10', lag: 3, streamTime: 100_000 }]);
    expect(a.owned).toEqual(['in/1']);
    expect(a.location).toEqual({ topic: 'in', partition: defaultPartition('p1', 4) });
  });

  it('drops retained finals past their time, and lists an open window over a retained final under its key (a resized window)', () => {
    const lanes = new OpenLanes();
    const [key, open] = state(perPlayer, ['p1'], 60_000, [1]);
    const kept = (s: number, n: number): [string, RetainedFinal] => [windowKey('per_player', ['p1'], s), { state: { w: 'per_player', g: ['p1'], s, a: [n] }, until: 5_000 }];
    lanes.add({ kind: 'source', topic: 'in', partition: 0, state: reader([[key, open]], [kept(0, 4), kept(60_000, 9)]), lag: () => undefined });
    const seen = (now: number) => answerLocally(ctx, lanes, query('per_player', [['p1']]), 100, now).results.map((r) => [r.start, r.final, r.values]);
    expect(seen(4_999)).toEqual([
      [60_000, false, { n: 1 }],
      [0, true, { n: 4 }],
    ]);
    expect(seen(5_000)).toEqual([[60_000, false, { n: 1 }]]);
  });

  it('reads every typed candidate: "42" and 42 are different groups', () => {
    const lanes = new OpenLanes();
    lanes.add({ kind: 'source', topic: 'in', partition: 3, state: reader([state(perPlayer, ['42'], 0, [1]), state(perPlayer, [42], 0, [2])]), lag: () => 0 });
    const a = answerLocally(ctx, lanes, query('per_player', [['42', 42]]), 100);
    expect(a.results.map((r) => [r.group, r.values])).toEqual([
      [{ playerId: '42' }, { n: 1 }],
      [{ playerId: 42 }, { n: 2 }],
    ]);
  });

  it("reports an idle-closed session as final with its own end, and the freshness of the group's partition when it is open here", () => {
    const lanes = new OpenLanes();
    const target = defaultPartition('p1', 4);
    lanes.add({ kind: 'source', topic: 'in', partition: target, state: reader([state(sessions, ['p1'], 1_000, [2], { e: 15_000, f: 1 })], [], '7', Number.NEGATIVE_INFINITY), lag: () => undefined });
    lanes.add({ kind: 'source', topic: 'in', partition: (target + 1) % 4, state: reader([]), lag: () => 0 });
    const a = answerLocally(ctx, lanes, query('sessions', [['p1']]), 100);
    expect(a.results).toEqual([{ window: 'sessions', group: { playerId: 'p1' }, start: 1_000, end: 15_000, final: true, values: { n: 2 }, closedBy: 'idle' }]);
    expect(a.freshness).toEqual([{ topic: 'in', partition: target, committedOffset: '7', lag: null, streamTime: null }]);
  });

  it('stops one past the limit', () => {
    const lanes = new OpenLanes();
    lanes.add({ kind: 'source', topic: 'in', partition: 0, state: reader([0, 1, 2, 3, 4].map((i) => state(perPlayer, ['p1'], i * 60_000, [1]))), lag: () => 0 });
    expect(answerLocally(ctx, lanes, query('per_player', [['p1']]), 2).results).toHaveLength(3);
  });

  it('answers nothing for a window the pipeline lacks', () => {
    expect(answerLocally(ctx, new OpenLanes(), query('nope', []), 10)).toEqual({ owned: [], results: [], freshness: [], location: undefined });
  });
});

describe('answerLocally, cross-partition windows', () => {
  const target = mergePartition(['eu'], 4);
  const partial = (src: number, s: number, points: number): [string, WindowState] => [`${windowKey('per_region', ['eu'], s)}|${src}`, { w: 'per_region', g: ['eu'], s, a: [points] }];

  it("merges the sources' partials of each window, from the merge lane the group maps to only", () => {
    const lanes = new OpenLanes();
    lanes.add({ kind: 'merge', topic: 'app-per_region-partials', partition: target, state: reader([partial(0, 0, 5), partial(3, 0, 7), partial(1, 60_000, 1)], [], '40', 30_000), lag: () => 0 });
    // A source lane's own partial accumulators are not the answer: the merge lane has them all.
    lanes.add({ kind: 'source', topic: 'in', partition: 0, state: reader([state(perRegion, ['eu'], 0, [5])]), lag: () => 0 });
    const a = answerLocally(ctx, lanes, query('per_region', [['eu']]), 100);
    expect(a.results.map((r) => [r.start, r.final, r.values])).toEqual([
      [0, false, { points: 12 }],
      [60_000, false, { points: 1 }],
    ]);
    expect(a.location).toEqual({ topic: 'app-per_region-partials', partition: target });
    expect(a.freshness).toEqual([{ topic: 'app-per_region-partials', partition: target, committedOffset: '40', lag: 0, streamTime: 30_000 }]);
  });

  it('lists merged finals kept for queries, and the partials over one under the same key', () => {
    const lanes = new OpenLanes();
    const kept = (s: number, points: number): [string, RetainedFinal] => [windowKey('per_region', ['eu'], s), { state: { w: 'per_region', g: ['eu'], s, a: [points] }, until: Number.MAX_SAFE_INTEGER }];
    lanes.add({ kind: 'merge', topic: 'app-per_region-partials', partition: target, state: reader([partial(0, 60_000, 5)], [kept(0, 20), kept(60_000, 99)]), lag: () => 0 });
    expect(answerLocally(ctx, lanes, query('per_region', [['eu']]), 100).results.map((r) => [r.start, r.final, r.values])).toEqual([
      [60_000, false, { points: 5 }],
      [0, true, { points: 20 }],
    ]);
  });
});

describe('answerLocally over a real PartitionStore', () => {
  it("reads LMDB's key order: a group's windows, not a longer group's or another value's sharing its text", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-query-'));
    const store = new PartitionStore(join(dir, 'p.mdb'), { windowCloseAt: (s) => s.s + 60_000, dedupeForgetAt: (t) => t }, null);
    try {
      const windows = [state(perPlayer, ['p1'], 0, [1]), state(perPlayer, ['p1'], 60_000, [2]), state(perPlayer, ['p10'], 0, [3]), state(perPlayer, [1], 0, [4]), state(sessions, ['p1'], 5, [5], { e: 20 })];
      // A window keyed under an older, longer group of the same name (its groupBy changed since).
      const longer: [string, WindowState] = [windowKey('per_player', ['p1', 'eu'], 0), { w: 'per_player', g: ['p1', 'eu'], s: 0, a: [6] }];
      store.write((w) => {
        for (const [k, v] of [...windows, longer]) w.putWindow(k, v);
        w.putRetained(windowKey('per_player', ['p1'], -60_000), { s: { w: 'per_player', g: ['p1'], s: -60_000, a: [7] }, u: Number.MAX_SAFE_INTEGER });
      });
      const lanes = new OpenLanes();
      lanes.add({ kind: 'source', topic: 'in', partition: 0, state: store, lag: () => 0 });
      expect(answerLocally(ctx, lanes, query('per_player', [['p1']]), 100).results.map((r) => [r.group, r.start, r.final, r.values])).toEqual([
        [{ playerId: 'p1' }, 0, false, { n: 1 }],
        [{ playerId: 'p1' }, 60_000, false, { n: 2 }],
        [{ playerId: 'p1' }, -60_000, true, { n: 7 }],
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('where a group lives', () => {
  it('puts a partition-local group where the default partitioner puts its key, a cross-partition one in its merge lane', () => {
    expect(locateGroup(ctx, perPlayer, ['p7'])).toEqual({ topic: 'in', partition: defaultPartition('p7', 4) });
    expect(locateGroup(ctx, perPlayer, [7])).toEqual({ topic: 'in', partition: defaultPartition('7', 4) });
    expect(locateGroup(ctx, perRegion, ['eu'])).toEqual({ topic: 'app-per_region-partials', partition: mergePartition(['eu'], 4) });
  });

  it('combines the candidates of every field', () => {
    expect(candidateGroups([['1', 1], ['x']])).toEqual([['1', 'x'], [1, 'x']]);
    expect(candidateGroups([])).toEqual([[]]);
  });
});
