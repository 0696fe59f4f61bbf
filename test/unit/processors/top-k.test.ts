import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addEvent, aggregateResult, initAccumulator, mergeAccumulators } from '../../../src/processors/aggregates.ts';
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
});
