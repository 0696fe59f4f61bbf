import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NUMERIC_FOLDS, addEvent, aggregateResult, initAccumulator, mergeAccumulators } from '../../../src/processors/aggregates.ts';
import type { AggregateResult } from '../../../src/processors/aggregates.ts';
import type { AggregateSpec } from '../../../src/processors/types.ts';

/** Results keyed by aggregate name: how the tests state what an accumulator holds. */
function accumulatorResult(acc: readonly unknown[], aggs: readonly AggregateSpec[]): Record<string, AggregateResult> {
  const out: Record<string, AggregateResult> = {};
  for (let i = 0; i < aggs.length; i++) out[aggs[i]!.name] = aggregateResult(acc, aggs, i);
  return out;
}

const AGGS: AggregateSpec[] = [
  { name: 'actions', fn: 'count', field: undefined },
  { name: 'points', fn: 'sum', field: 'points' },
  { name: 'best', fn: 'max', field: 'score' },
  { name: 'worst', fn: 'min', field: 'score' },
  { name: 'avgScore', fn: 'avg', field: 'score' },
];

function accOf(events: Array<Record<string, unknown>>): unknown[] {
  const acc = initAccumulator(AGGS);
  for (const e of events) addEvent(acc, AGGS, e, 0);
  return acc;
}

describe('aggregate functions', () => {
  it('count ignores values', () => {
    const f = NUMERIC_FOLDS.count;
    expect(f.result(f.add(f.add(f.init(), 123), -5))).toBe(2);
  });

  it('sum adds in order', () => {
    const f = NUMERIC_FOLDS.sum;
    expect(f.result(f.init())).toBe(0);
    expect(f.result(f.add(f.add(f.add(f.init(), 0.1), 0.2), 0.3))).toBe(0.1 + 0.2 + 0.3);
  });

  it('min and max are null when empty', () => {
    expect(NUMERIC_FOLDS.min.result(NUMERIC_FOLDS.min.init())).toBeNull();
    expect(NUMERIC_FOLDS.max.result(NUMERIC_FOLDS.max.init())).toBeNull();
    expect(NUMERIC_FOLDS.min.merge(NUMERIC_FOLDS.min.init(), NUMERIC_FOLDS.min.init())).toBeNull();
  });

  it('min and max handle negatives and merge with empty', () => {
    const { min, max } = NUMERIC_FOLDS;
    let lo = min.init();
    let hi = max.init();
    for (const v of [3, -7, 2]) {
      lo = min.add(lo, v);
      hi = max.add(hi, v);
    }
    expect(min.result(lo)).toBe(-7);
    expect(max.result(hi)).toBe(3);
    expect(min.result(min.merge(min.init(), lo))).toBe(-7);
    expect(max.result(max.merge(hi, max.init()))).toBe(3);
  });

  it('avg is sum / count, unrounded, and null when empty', () => {
    const f = NUMERIC_FOLDS.avg;
    expect(f.result(f.init())).toBeNull();
    let s = f.init();
    for (const v of [1, 1, 2]) s = f.add(s, v);
    expect(s).toEqual([4, 3]);
    expect(f.result(s)).toBe(4 / 3);
  });

  it('states survive a JSON round trip', () => {
    const acc = accOf([{ points: 10, score: 9 }, { points: 20, score: 1 }]);
    const copy = JSON.parse(JSON.stringify(acc)) as unknown[];
    expect(copy).toEqual(acc);
    expect(accumulatorResult(copy, AGGS)).toEqual(accumulatorResult(acc, AGGS));
    expect(JSON.parse(JSON.stringify(initAccumulator(AGGS)))).toEqual(initAccumulator(AGGS));
  });

  it('init returns fresh states so in-place adds do not leak between windows', () => {
    const a = initAccumulator(AGGS);
    addEvent(a, AGGS, { points: 1, score: 1 }, 0);
    expect(initAccumulator(AGGS)).toEqual([0, 0, null, null, [0, 0]]);
  });
});

describe('accumulators', () => {
  it('folds events in aggregate order', () => {
    const acc = accOf([
      { points: 10, score: 9 },
      { points: 15, score: 5 },
      { points: 5, score: 1 },
    ]);
    expect(accumulatorResult(acc, AGGS)).toEqual({ actions: 3, points: 30, best: 9, worst: 1, avgScore: 5 });
    expect(Object.keys(accumulatorResult(acc, AGGS))).toEqual(['actions', 'points', 'best', 'worst', 'avgScore']);
  });

  it('empty accumulator results', () => {
    expect(accumulatorResult(initAccumulator(AGGS), AGGS)).toEqual({ actions: 0, points: 0, best: null, worst: null, avgScore: null });
  });

  it('merge does not mutate its inputs', () => {
    const a = accOf([{ points: 1, score: 2 }]);
    const b = accOf([{ points: 3, score: 4 }]);
    const aCopy = structuredClone(a);
    const bCopy = structuredClone(b);
    const m = mergeAccumulators(a, b, AGGS);
    expect(a).toEqual(aCopy);
    expect(b).toEqual(bCopy);
    addEvent(m, AGGS, { points: 1, score: 1 }, 0);
    expect(a).toEqual(aCopy);
    expect(b).toEqual(bCopy);
  });

  const eventsArb = fc.array(
    fc.record({ points: fc.integer({ min: -1_000_000, max: 1_000_000 }), score: fc.integer({ min: -1000, max: 1000 }) }),
    { maxLength: 60 },
  );

  it('property: merging the accumulators of two halves equals the whole', () => {
    fc.assert(
      fc.property(eventsArb, fc.nat(), (events, cut) => {
        const i = events.length === 0 ? 0 : cut % (events.length + 1);
        const merged = mergeAccumulators(accOf(events.slice(0, i)), accOf(events.slice(i)), AGGS);
        const whole = accOf(events);
        expect(merged).toEqual(whole);
        expect(accumulatorResult(merged, AGGS)).toEqual(accumulatorResult(whole, AGGS));
      }),
    );
  });

  it('property: merge is associative and commutative, with init as identity', () => {
    fc.assert(
      fc.property(eventsArb, eventsArb, eventsArb, (x, y, z) => {
        const [a, b, c] = [accOf(x), accOf(y), accOf(z)];
        const left = mergeAccumulators(mergeAccumulators(a, b, AGGS), c, AGGS);
        const right = mergeAccumulators(a, mergeAccumulators(b, c, AGGS), AGGS);
        expect(left).toEqual(right);
        expect(mergeAccumulators(a, b, AGGS)).toEqual(mergeAccumulators(b, a, AGGS));
        expect(mergeAccumulators(a, initAccumulator(AGGS), AGGS)).toEqual(a);
      }),
    );
  });
});

describe('first and last', () => {
  const FL: AggregateSpec[] = [
    { name: 'opening', fn: 'first', field: 'v' },
    { name: 'closing', fn: 'last', field: 'v' },
  ];
  type Timed = { v: string | number | boolean; t: number };
  const accOfTimed = (events: readonly Timed[]): unknown[] => {
    const acc = initAccumulator(FL);
    for (const e of events) addEvent(acc, FL, { v: e.v }, e.t);
    return acc;
  };
  const results = (acc: unknown[]) => accumulatorResult(acc, FL);

  it('take the values of the earliest and latest events by event time, not by arrival', () => {
    expect(results(accOfTimed([{ v: 'b', t: 20 }, { v: 'a', t: 10 }, { v: 'c', t: 30 }, { v: 'x', t: 15 }]))).toEqual({ opening: 'a', closing: 'c' });
    expect(results(initAccumulator(FL))).toEqual({ opening: null, closing: null });
  });

  it('break event-time ties by value: false < true < numbers < strings', () => {
    expect(results(accOfTimed([{ v: 'b', t: 5 }, { v: 'a', t: 5 }]))).toEqual({ opening: 'a', closing: 'b' });
    expect(results(accOfTimed([{ v: 'a', t: 5 }, { v: 10, t: 5 }, { v: true, t: 5 }, { v: false, t: 5 }, { v: 2, t: 5 }]))).toEqual({ opening: false, closing: 'a' });
    expect(results(accOfTimed([{ v: '1', t: 5 }, { v: 1, t: 5 }]))).toEqual({ opening: 1, closing: '1' });
  });

  const timedArb = fc.array(fc.record({ v: fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -5, max: 5 }), fc.boolean()), t: fc.integer({ min: 0, max: 6 }) }), { maxLength: 30 });

  it('property: any split and merge order gives the whole stream\'s result, in any arrival order', () => {
    fc.assert(
      fc.property(timedArb, timedArb, timedArb, (x, y, z) => {
        const [a, b, c] = [accOfTimed(x), accOfTimed(y), accOfTimed(z)];
        const whole = accOfTimed([...z, ...x, ...y]);
        expect(mergeAccumulators(mergeAccumulators(a, b, FL), c, FL)).toEqual(whole);
        expect(mergeAccumulators(a, mergeAccumulators(c, b, FL), FL)).toEqual(whole);
        expect(JSON.parse(JSON.stringify(whole))).toEqual(whole);
      }),
    );
  });
});

describe('state of another shape (an aggregate changed between runs)', () => {
  it('is replaced by a fresh state instead of failing the lane', () => {
    const aggs: AggregateSpec[] = [
      { name: 'opening', fn: 'first', field: 'v' },
      { name: 'mean', fn: 'avg', field: 'n' },
      { name: 'added', fn: 'count', field: undefined },
    ];
    // Written when position 0 was a sum, position 1 a first, and position 2 did not exist.
    const acc: unknown[] = [12, [5, 'x']];
    addEvent(acc, aggs, { v: 'a', n: 4 }, 7);
    expect(accumulatorResult(acc, aggs)).toEqual({ opening: 'a', mean: 4, added: 1 });
    expect(accumulatorResult(mergeAccumulators([12], [undefined, null, 'x'], aggs), aggs)).toEqual({ opening: null, mean: null, added: 0 });
  });
});
