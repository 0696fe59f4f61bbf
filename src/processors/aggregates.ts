import { quantileLabel } from '../config/schema.ts';
import { hllAdd, hllEstimate, hllMerge, isHllState } from './hyperloglog.ts';
import type { HllState } from './hyperloglog.ts';
import { isQuantileState, quantileAdd, quantileInit, quantileMerge, quantileValues } from './quantile-sketch.ts';
import type { QuantileState } from './quantile-sketch.ts';
import { compareScalars, isScalar } from './scalar-order.ts';
import { TOP_K_WINDOW_BYTES, isTopKState, topKAdd, topKInit, topKMerge, topKRefusal, topKResult } from './top-k.ts';
import type { TopKState } from './top-k.ts';
import type { Scalar } from './scalar-order.ts';
import type { AggregateSpec, NumericAggregateFnName, RankSpec } from './types.ts';

/** What an aggregate writes into an output record's `values` (docs/output.md). */
export type AggregateResult = number | Scalar | null | Record<string, number | null> | Array<{ member: Scalar; value: number | null }>;

/**
 * One aggregate of one window definition over a JSON-serializable state. States are persisted
 * (LMDB, changelog) and merged across partitions, so they must stay plain values; objects only
 * with fixed property names (LMDB's msgpack keeps a structure per set of names).
 *
 * `add` reads what it needs from the event (decode has validated those fields) and its event
 * time. It may mutate and return `state` (avg does, to avoid a tuple per event): callers must
 * store the returned value and must not keep the old state as a snapshot. `init` and `merge`
 * always return fresh states and never mutate inputs; `merge` is commutative and associative,
 * so a cross-partition window's result does not depend on the order partials arrive in.
 * `isState` tells whether a stored value has this aggregate's shape: state written under another
 * definition of the same position (a config change between runs) is replaced by `init()`.
 * `refusal`, for a state that grows with its events, says why `add` would take it past its
 * limits (docs/output.md, "State limits"), or undefined.
 */
export interface AggregateFn<S> {
  init(): S;
  add(state: S, event: Readonly<Record<string, unknown>>, time: number): S;
  merge(a: S, b: S): S;
  result(state: S): AggregateResult;
  isState(state: unknown): boolean;
  refusal?(state: S, event: Readonly<Record<string, unknown>>): string | undefined;
}

/** A fold over one number per event: the plain aggregates, and what a topK ranks members by. */
export interface NumericFold<S> {
  init(): S;
  add(state: S, value: number): S;
  merge(a: S, b: S): S;
  result(state: S): number | null;
  isState(state: unknown): boolean;
}

/** [sum, count]; sum is accumulated in arrival order. */
export type AvgState = [number, number];

const isNumber = (s: unknown): s is number => typeof s === 'number';
const isNumberOrNull = (s: unknown): boolean => s === null || typeof s === 'number';

const countFold: NumericFold<number> = {
  init: () => 0,
  add: (s) => s + 1,
  merge: (a, b) => a + b,
  result: (s) => s,
  isState: isNumber,
};

const sumFold: NumericFold<number> = {
  init: () => 0,
  add: (s, v) => s + v,
  merge: (a, b) => a + b,
  result: (s) => s,
  isState: isNumber,
};

const minFold: NumericFold<number | null> = {
  init: () => null,
  add: (s, v) => (s === null || v < s ? v : s),
  merge: (a, b) => (a === null ? b : b === null || a <= b ? a : b),
  result: (s) => s,
  isState: isNumberOrNull,
};

const maxFold: NumericFold<number | null> = {
  init: () => null,
  add: (s, v) => (s === null || v > s ? v : s),
  merge: (a, b) => (a === null ? b : b === null || a >= b ? a : b),
  result: (s) => s,
  isState: isNumberOrNull,
};

const avgFold: NumericFold<AvgState> = {
  init: () => [0, 0],
  add: (s, v) => {
    s[0] += v;
    s[1] += 1;
    return s;
  },
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
  result: (s) => (s[1] === 0 ? null : s[0] / s[1]),
  isState: (s) => Array.isArray(s) && s.length === 2 && typeof s[0] === 'number' && typeof s[1] === 'number',
};

// Method-shorthand members are bivariant, so the concrete folds fit NumericFold<unknown>.
export const NUMERIC_FOLDS: Record<'count' | NumericAggregateFnName, NumericFold<unknown>> = {
  count: countFold,
  sum: sumFold,
  min: minFold,
  max: maxFold,
  avg: avgFold,
};

/** count() reads no field; the others read a number from `field`. */
function numericAggregate(fold: NumericFold<unknown>, field: string | undefined): AggregateFn<unknown> {
  return {
    init: fold.init,
    add: field === undefined ? (s) => fold.add(s, 0) : (s, event) => fold.add(s, event[field] as number),
    merge: fold.merge,
    result: fold.result,
    isState: fold.isState,
  };
}

/** [event time, value] of the event kept so far, or null before any. */
export type FirstLastState = [number, Scalar] | null;

/**
 * first/last by event time. Events order by (event time, value) in the scalar order, and first
 * keeps the smallest, last the largest: two events at one event time are decided by their
 * values, never by arrival, so every partition and every merge order agrees.
 */
function firstLast(field: string, keep: 1 | -1): AggregateFn<FirstLastState> {
  const wins = (t: number, v: Scalar, s: [number, Scalar]): boolean => (t !== s[0] ? (t < s[0] ? 1 : -1) === keep : compareScalars(v, s[1]) * keep < 0);
  return {
    init: () => null,
    add: (s, event, time) => {
      const v = event[field] as Scalar;
      return s === null || wins(time, v, s) ? [time, v] : s;
    },
    merge: (a, b) => (a === null ? copy(b) : b === null || !wins(b[0], b[1], a) ? copy(a) : copy(b)),
    result: (s) => (s === null ? null : s[1]),
    isState: (s) => s === null || (Array.isArray(s) && s.length === 2 && typeof s[0] === 'number' && isScalar(s[1])),
  };
}

const copy = (s: FirstLastState): FirstLastState => (s === null ? null : [s[0], s[1]]);

/** countDistinct: a HyperLogLog sketch (hyperloglog.ts), its estimate rounded to an integer. */
function countDistinct(field: string): AggregateFn<HllState> {
  return {
    init: () => [],
    add: (s, event) => hllAdd(s, event[field] as Scalar),
    merge: hllMerge,
    result: (s) => Math.round(hllEstimate(s)),
    isState: isHllState,
  };
}

/**
 * quantiles: a DDSketch (quantile-sketch.ts); the result names each quantile `p<percent>`, e.g.
 * {"p50": 12.1, "p99": 48.7}, with the labels the config's schema gave it.
 */
function quantiles(field: string, qs: readonly number[], labels: readonly string[]): AggregateFn<QuantileState> {
  return {
    init: quantileInit,
    add: (s, event) => quantileAdd(s, event[field] as number),
    merge: quantileMerge,
    result: (s) => {
      const values = quantileValues(s, qs);
      const out: Record<string, number | null> = {};
      for (let i = 0; i < labels.length; i++) out[labels[i]!] = values[i]!;
      return out;
    },
    isState: isQuantileState,
  };
}

/** The most characters JSON writes for a number (e.g. -2.2250738585072014e-308). */
const NUMBER_JSON_BYTES = 24;

/**
 * topK: every member's `by` aggregate (top-k.ts); the result is the k best, as [{member, value}].
 * `maxBytes`: its share of the window's TOP_K_WINDOW_BYTES.
 */
function topK(field: string, k: number, by: RankSpec, maxMembers: number, maxBytes: number): AggregateFn<TopKState> {
  const fold = NUMERIC_FOLDS[by.fn];
  const rankField = by.field;
  const valueBytes = Array.isArray(fold.init()) ? 2 * NUMBER_JSON_BYTES + 3 : NUMBER_JSON_BYTES;
  const limits = { maxMembers, maxBytes, valueBytes };
  return {
    init: topKInit,
    add: (s, event) => topKAdd(s, fold, event[field] as Scalar, rankField === undefined ? 0 : (event[rankField] as number), valueBytes),
    merge: (a, b) => topKMerge(a, b, fold),
    result: (s) => topKResult(s, fold, k),
    isState: (s) => isTopKState(s, fold),
    refusal: (s, event) => topKRefusal(s, event[field] as Scalar, limits),
  };
}

/** `topKs`: how many topK aggregates the window has, which share its TOP_K_WINDOW_BYTES. */
function compile(spec: AggregateSpec, topKs: number): AggregateFn<unknown> {
  switch (spec.fn) {
    case 'count':
    case 'sum':
    case 'min':
    case 'max':
    case 'avg':
      return numericAggregate(NUMERIC_FOLDS[spec.fn], spec.field);
    case 'first':
      return firstLast(spec.field, 1) as AggregateFn<unknown>;
    case 'last':
      return firstLast(spec.field, -1) as AggregateFn<unknown>;
    case 'countDistinct':
      return countDistinct(spec.field) as AggregateFn<unknown>;
    case 'quantiles':
      return quantiles(spec.field, spec.quantiles, spec.quantiles.map(quantileLabel)) as AggregateFn<unknown>;
    case 'topK':
      return topK(spec.field, spec.k, spec.by, spec.maxMembers, Math.floor(TOP_K_WINDOW_BYTES / topKs)) as AggregateFn<unknown>;
  }
}

const compiled = new WeakMap<readonly AggregateSpec[], AggregateFn<unknown>[]>();

/** The functions of a window's aggregates, in aggregate order; built once per spec list. */
export function aggregateFns(aggs: readonly AggregateSpec[]): AggregateFn<unknown>[] {
  let fns = compiled.get(aggs);
  if (fns === undefined) {
    const topKs = aggs.filter((a) => a.fn === 'topK').length;
    compiled.set(aggs, (fns = aggs.map((a) => compile(a, topKs))));
  }
  return fns;
}

/** Whether some aggregate of `aggs` may refuse an event (see stateLimitRefusal). */
export function hasStateLimits(aggs: readonly AggregateSpec[]): boolean {
  return aggregateFns(aggs).some((fn) => fn.refusal !== undefined);
}

export interface StateLimitRefusal {
  /** the event field that would have grown the state: a topK's member field */
  field: string;
  detail: string;
}

/**
 * Why folding `event` into `acc` would take a state past its limits, or undefined. Callers check
 * every window an event goes to before adding it to any, so that a refused event counts nowhere.
 * `acc` may be empty (a window the event would create).
 */
export function stateLimitRefusal(acc: readonly unknown[], aggs: readonly AggregateSpec[], event: Readonly<Record<string, unknown>>): StateLimitRefusal | undefined {
  const fns = aggregateFns(aggs);
  for (let i = 0; i < fns.length; i++) {
    const fn = fns[i]!;
    if (fn.refusal === undefined) continue;
    const why = fn.refusal(stateOf(fn, acc, i), event);
    if (why !== undefined) return { field: (aggs[i] as { field: string }).field, detail: `${aggs[i]!.name}: ${why}` };
  }
  return undefined;
}

/** One state per aggregate, in aggregate order. */
export function initAccumulator(aggs: readonly AggregateSpec[]): unknown[] {
  const fns = aggregateFns(aggs);
  const acc = new Array<unknown>(fns.length);
  for (let i = 0; i < fns.length; i++) acc[i] = fns[i]!.init();
  return acc;
}

/** `acc[i]` as aggregate `i` reads it: a fresh state if what is stored there is not of its shape. */
function stateOf(fn: AggregateFn<unknown>, acc: readonly unknown[], i: number): unknown {
  const s = acc[i];
  return fn.isState(s) ? s : fn.init();
}

/** Folds one event, at event time `time`, into `acc` in place. Assumes the event passed decode. */
export function addEvent(acc: unknown[], aggs: readonly AggregateSpec[], event: Readonly<Record<string, unknown>>, time: number): void {
  const fns = aggregateFns(aggs);
  for (let i = 0; i < fns.length; i++) acc[i] = fns[i]!.add(stateOf(fns[i]!, acc, i), event, time);
}

/** Fresh accumulator; neither input is mutated. */
export function mergeAccumulators(a: readonly unknown[], b: readonly unknown[], aggs: readonly AggregateSpec[]): unknown[] {
  const fns = aggregateFns(aggs);
  const out = new Array<unknown>(fns.length);
  for (let i = 0; i < fns.length; i++) out[i] = fns[i]!.merge(stateOf(fns[i]!, a, i), stateOf(fns[i]!, b, i));
  return out;
}

/** The result of aggregate `i` of `acc`. */
export function aggregateResult(acc: readonly unknown[], aggs: readonly AggregateSpec[], i: number): AggregateResult {
  const fn = aggregateFns(aggs)[i]!;
  return fn.result(stateOf(fn, acc, i));
}
