import type { AggregateFnName, AggregateSpec } from './types.ts';

/**
 * One aggregate function over a JSON-serializable state. States are persisted
 * (LMDB, changelog) and merged across partitions, so they must stay plain values.
 *
 * `add` may mutate and return `state` (avg does, to avoid a tuple per event):
 * callers must store the returned value and must not keep the old state as a
 * snapshot. `init` and `merge` always return fresh states and never mutate inputs.
 */
export interface AggregateFn<S> {
  init(): S;
  add(state: S, value: number): S;
  merge(a: S, b: S): S;
  result(state: S): number | null;
}

/** [sum, count]; sum is accumulated in arrival order. */
export type AvgState = [number, number];

const countFn: AggregateFn<number> = {
  init: () => 0,
  add: (s) => s + 1,
  merge: (a, b) => a + b,
  result: (s) => s,
};

const sumFn: AggregateFn<number> = {
  init: () => 0,
  add: (s, v) => s + v,
  merge: (a, b) => a + b,
  result: (s) => s,
};

const minFn: AggregateFn<number | null> = {
  init: () => null,
  add: (s, v) => (s === null || v < s ? v : s),
  merge: (a, b) => (a === null ? b : b === null || a <= b ? a : b),
  result: (s) => s,
};

const maxFn: AggregateFn<number | null> = {
  init: () => null,
  add: (s, v) => (s === null || v > s ? v : s),
  merge: (a, b) => (a === null ? b : b === null || a >= b ? a : b),
  result: (s) => s,
};

const avgFn: AggregateFn<AvgState> = {
  init: () => [0, 0],
  add: (s, v) => {
    s[0] += v;
    s[1] += 1;
    return s;
  },
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
  result: (s) => (s[1] === 0 ? null : s[0] / s[1]),
};

// Method-shorthand members are bivariant, so the concrete fns fit AggregateFn<unknown>.
export const AGGREGATES: Record<AggregateFnName, AggregateFn<unknown>> = {
  count: countFn,
  sum: sumFn,
  min: minFn,
  max: maxFn,
  avg: avgFn,
};

/** One state per aggregate, in aggregate order. */
export function initAccumulator(aggs: readonly AggregateSpec[]): unknown[] {
  const acc = new Array<unknown>(aggs.length);
  for (let i = 0; i < aggs.length; i++) acc[i] = AGGREGATES[aggs[i]!.fn].init();
  return acc;
}

/**
 * Folds one event into `acc` in place. Assumes the event passed decode, i.e.
 * every non-count aggregate field holds a finite number.
 */
export function addEvent(acc: unknown[], aggs: readonly AggregateSpec[], event: Record<string, unknown>): void {
  for (let i = 0; i < aggs.length; i++) {
    const spec = aggs[i]!;
    const field = spec.field;
    const value = spec.fn === 'count' || field === undefined ? 0 : Number(event[field]);
    acc[i] = AGGREGATES[spec.fn].add(acc[i], value);
  }
}

/** Fresh accumulator; neither input is mutated. */
export function mergeAccumulators(a: readonly unknown[], b: readonly unknown[], aggs: readonly AggregateSpec[]): unknown[] {
  const out = new Array<unknown>(aggs.length);
  for (let i = 0; i < aggs.length; i++) out[i] = AGGREGATES[aggs[i]!.fn].merge(a[i], b[i]);
  return out;
}
