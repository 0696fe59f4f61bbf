import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addEvent, aggregateResult, initAccumulator, mergeAccumulators, stateLimitRefusal } from '../../../src/processors/aggregates.ts';
import { TOP_K_WINDOW_BYTES } from '../../../src/processors/top-k.ts';
import type { AggregateSpec, RankSpec } from '../../../src/processors/types.ts';

const spec = (by: RankSpec, k = 3, maxMembers = 10_000): AggregateSpec[] => [{ name: 'leaders', fn: 'topK', field: 'player', k, by, maxMembers }];
type Play = { player: string | number; points: number };

function accOf(aggs: AggregateSpec[], plays: readonly Play[]): unknown[] {
  const acc = initAccumulator(aggs);
  for (const p of plays) addEvent(acc, aggs, p, 0);
  return acc;
}
const leaders = (aggs: AggregateSpec[], acc: unknown[]) => aggregateResult(acc, aggs, 0) as Array<{ member: unknown; value: number | null }>;

const PLAYS: Play[] = [
  { player: 'ann', points: 10 },
  { player: 'bob', points: 30 },
  { player: 'cat', points: 5 },
  { player: 'ann', points: 25 },
  { player: 'dan', points: 35 },
  { player: 'cat', points: 1 },
];

describe('topK', () => {
  it('ranks members by their aggregate within the window, best first, keeping k', () => {
    const sum = spec({ fn: 'sum', field: 'points' });
    expect(leaders(sum, accOf(sum, PLAYS))).toEqual([
      { member: 'ann', value: 35 },
      { member: 'dan', value: 35 },
      { member: 'bob', value: 30 },
    ]);
    const count = spec({ fn: 'count', field: undefined }, 2);
    expect(leaders(count, accOf(count, PLAYS))).toEqual([
      { member: 'ann', value: 2 },
      { member: 'cat', value: 2 },
    ]);
    const min = spec({ fn: 'min', field: 'points' }, 10);
    expect(leaders(min, accOf(min, PLAYS)).map((e) => e.member)).toEqual(['dan', 'bob', 'ann', 'cat']);
    const avg = spec({ fn: 'avg', field: 'points' }, 1);
    expect(leaders(avg, accOf(avg, PLAYS))).toEqual([{ member: 'dan', value: 35 }]);
    expect(leaders(avg, initAccumulator(avg))).toEqual([]);
  });

  it('breaks ties by member: numbers before strings, each in ascending order; 1 and "1" are two members', () => {
    const max = spec({ fn: 'max', field: 'points' }, 4);
    const plays = [{ player: 'b', points: 1 }, { player: '1', points: 1 }, { player: 1, points: 1 }, { player: 'a', points: 1 }];
    expect(leaders(max, accOf(max, plays)).map((e) => e.member)).toEqual([1, '1', 'a', 'b']);
  });

  const playsArb = fc.array(fc.record({ player: fc.oneof(fc.constantFrom('ann', 'bob', 'cat', 'dan'), fc.integer({ min: 0, max: 3 })), points: fc.integer({ min: -50, max: 50 }) }), { maxLength: 40 });

  it.each<RankSpec>([
    { fn: 'count', field: undefined },
    { fn: 'sum', field: 'points' },
    { fn: 'min', field: 'points' },
    { fn: 'max', field: 'points' },
    { fn: 'avg', field: 'points' },
  ])('property (by $fn): merge is commutative and associative, equals the whole stream, and leaves inputs alone', (by) => {
    const aggs = spec(by, 3);
    fc.assert(
      fc.property(playsArb, playsArb, playsArb, (x, y, z) => {
        const [a, b, c] = [accOf(aggs, x), accOf(aggs, y), accOf(aggs, z)];
        const before = structuredClone([a, b, c]);
        const whole = accOf(aggs, [...x, ...y, ...z]);
        const left = mergeAccumulators(mergeAccumulators(a, b, aggs), c, aggs);
        expect(left).toEqual(whole);
        expect(mergeAccumulators(c, mergeAccumulators(b, a, aggs), aggs)).toEqual(whole);
        expect([a, b, c]).toEqual(before);
        expect(JSON.parse(JSON.stringify(whole))).toEqual(whole);
        addEvent(left, aggs, { player: 'ann', points: 1 }, 0);
        expect([a, b, c]).toEqual(before);
      }),
    );
  });

  it('takes no new member past maxMembers, while the members it holds go on updating', () => {
    const aggs = spec({ fn: 'sum', field: 'points' }, 2, 2);
    const acc = accOf(aggs, [{ player: 'ann', points: 1 }, { player: 'bob', points: 2 }]);
    expect(stateLimitRefusal(acc, aggs, { player: 'ann', points: 5 })).toBeUndefined();
    expect(stateLimitRefusal(acc, aggs, { player: 'cat', points: 5 })).toEqual({ field: 'player', detail: 'leaders: already holds 2 members, its maxMembers (2); "cat" would be a new one' });
    expect(stateLimitRefusal([], aggs, { player: 'cat', points: 5 })).toBeUndefined();
  });

  it('continues no state ranked by another aggregate (a config change from sum to avg starts afresh)', () => {
    const sum = spec({ fn: 'sum', field: 'points' });
    const avg = spec({ fn: 'avg', field: 'points' });
    const acc = accOf(sum, PLAYS);
    addEvent(acc, avg, { player: 'ann', points: 4 }, 0);
    expect(leaders(avg, acc)).toEqual([{ member: 'ann', value: 4 }]);
  });

  // Members of every width in UTF-8 and JSON escapes, values of every length a fold writes, then
  // enough long members to fill the state: 128 topKs in the window leave each 1/128 of
  // TOP_K_WINDOW_BYTES (4 KiB).
  const memberArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
  const TOP_KS = 128;
  const filler = Array.from({ length: 40 }, (_, i) => ({ player: `${i}`.padEnd(200, '\u00e9'), points: -Number.MIN_VALUE }));
  it.each<RankSpec>([
    { fn: 'sum', field: 'points' },
    { fn: 'avg', field: 'points' },
  ])('property (by $fn): a state never outgrows its share of the window budget, as the JSON it is written as', (by) => {
    const aggs = Array.from({ length: TOP_KS }, (_, i) => ({ ...spec(by, 3, 100_000)[0]!, name: `l${i}` }));
    const share = Math.floor(TOP_K_WINDOW_BYTES / TOP_KS);
    fc.assert(
      fc.property(fc.array(fc.record({ player: memberArb, points: fc.double({ noNaN: true, noDefaultInfinity: true }) }), { maxLength: 100 }), (random) => {
        const plays = [...random, ...filler];
        // Merged states (fresh objects) are sized afresh, added ones incrementally.
        const acc = mergeAccumulators(accOf(aggs.slice(0, 1), plays.slice(0, 3) as Play[]), initAccumulator(aggs), aggs);
        let refusals = 0;
        for (const play of plays.slice(3)) {
          if (stateLimitRefusal(acc, aggs, play) === undefined) addEvent(acc, aggs, play, 0);
          else refusals++;
        }
        expect(refusals, 'the budget must have been reached').toBeGreaterThan(0);
        // What surrounds the members and values: `{"m":[],"v":[]}`.
        expect(Buffer.byteLength(JSON.stringify(acc[0])) - 15).toBeLessThanOrEqual(share);
      }),
      { numRuns: 30, endOnFailure: true },
    );
  });
});
