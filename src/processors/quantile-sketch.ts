// quantiles' sketch: DDSketch (@datadog/sketches-js) at 1% relative accuracy. The library's
// logarithmic mapping decides which bin a value falls in and its sketch answers the quantile
// queries; the bins live in the window state as plain arrays, because the state must be a plain
// JSON value that one event updates in place (a protobuf round trip per event would cost more
// than the rest of the event's processing), and because the library's own merge drops the
// negative values' bins (2.1.1). Counts are integers, so merging is exactly commutative and
// associative: the state is a function of the multiset of bins, whatever the order.
//
// Each sign keeps at most MAX_BINS bins, as the library's CollapsingLowestDenseStore does: the
// bins nearest zero beyond that are folded into the lowest one kept, whose key is the sign's
// largest key − (MAX_BINS − 1). That cutoff depends only on the sign's largest value, so every
// value ends in bin max(its key, cutoff) whether it came before or after the value that moved
// the cutoff, and in whichever partial: the state is still a function of the values seen.
// Unbounded, a single 1e-300 among values near 1 would add some 35,000 bins.
import { DDSketch } from '@datadog/sketches-js';

/** Bin counts from key `o` (positive values `p*`, negative values by magnitude `n*`), and the zeros. */
export type QuantileState = { z: number; po: number; pc: number[]; no: number; nc: number[] };

export const RELATIVE_ACCURACY = 0.01;

/**
 * Bins kept per sign (a few bytes each in the state): a value keeps the 1% guarantee when its
 * magnitude is at least the largest magnitude of its sign divided by γ^(MAX_BINS − 2) ≈ 5.9e17,
 * γ = 1.01 / 0.99 (docs/output.md).
 */
export const MAX_BINS = 2048;

const newSketch = (): DDSketch => new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
const MAPPING = newSketch().mapping;

export function quantileInit(): QuantileState {
  return { z: 0, po: 0, pc: [], no: 0, nc: [] };
}

/**
 * Folds the bins of `counts` (from key `offset`) below key `lowest` into bin `lowest`, in place;
 * returns the new offset. Bins never start or end with a zero, so the last one's key is the
 * sign's largest.
 */
function collapseBelow(counts: number[], offset: number, lowest: number): number {
  if (lowest <= offset) return offset;
  const drop = Math.min(lowest - offset, counts.length);
  let carried = 0;
  for (let i = 0; i < drop; i++) carried += counts[i]!;
  counts.splice(0, drop);
  if (counts.length === 0) counts.push(carried);
  else counts[0]! += carried;
  return lowest;
}

/** Adds one to bin `key` of counts starting at `offset`; returns the (possibly new) offset. */
function bump(counts: number[], offset: number, key: number): number {
  const i = key - offset;
  if (i >= 0 && i < counts.length) {
    counts[i]!++;
    return offset;
  }
  if (counts.length === 0) {
    counts.push(1);
    return key;
  }
  if (i > 0) {
    // A new largest key: bins more than MAX_BINS − 1 below it fold into the new cutoff.
    const start = collapseBelow(counts, offset, key - MAX_BINS + 1);
    while (start + counts.length < key) counts.push(0);
    counts.push(1);
    return start;
  }
  // A new smallest key, which goes no lower than the cutoff (a state written before MAX_BINS
  // may hold more bins: it collapses here first).
  const last = offset + counts.length - 1;
  const start = collapseBelow(counts, offset, last - MAX_BINS + 1);
  const lowest = Math.max(key, last - MAX_BINS + 1);
  if (lowest >= start) {
    counts[lowest - start]!++;
    return start;
  }
  counts.unshift(1, ...new Array<number>(start - lowest - 1).fill(0));
  return lowest;
}

export function quantileAdd(s: QuantileState, value: number): QuantileState {
  if (value > MAPPING.minPossible) s.po = bump(s.pc, s.po, MAPPING.key(value));
  else if (value < -MAPPING.minPossible) s.no = bump(s.nc, s.no, MAPPING.key(-value));
  else s.z++;
  return s;
}

function mergeBins(ao: number, ac: readonly number[], bo: number, bc: readonly number[]): [number, number[]] {
  if (ac.length === 0 && bc.length === 0) return [0, []];
  const last = Math.max(ac.length > 0 ? ao + ac.length - 1 : -Infinity, bc.length > 0 ? bo + bc.length - 1 : -Infinity);
  const lowest = Math.max(Math.min(ac.length > 0 ? ao : Infinity, bc.length > 0 ? bo : Infinity), last - MAX_BINS + 1);
  const out = new Array<number>(last - lowest + 1).fill(0);
  for (let i = 0; i < ac.length; i++) out[Math.max(ao + i, lowest) - lowest]! += ac[i]!;
  for (let i = 0; i < bc.length; i++) out[Math.max(bo + i, lowest) - lowest]! += bc[i]!;
  return [lowest, out];
}

export function quantileMerge(a: QuantileState, b: QuantileState): QuantileState {
  const [po, pc] = mergeBins(a.po, a.pc, b.po, b.pc);
  const [no, nc] = mergeBins(a.no, a.nc, b.no, b.nc);
  return { z: a.z + b.z, po, pc, no, nc };
}

/**
 * The value at rank floor(q × (n − 1)) of the n values in ascending order, within 1% of it, for
 * each q, or null for every q when the sketch is empty. A value in a collapsed bin (see MAX_BINS)
 * comes out as that bin's, farther from zero than the value itself.
 */
export function quantileValues(s: QuantileState, qs: readonly number[]): Array<number | null> {
  const sketch = newSketch();
  s.pc.forEach((count, i) => count > 0 && sketch.store.add(s.po + i, count));
  s.nc.forEach((count, i) => count > 0 && sketch.negativeStore.add(s.no + i, count));
  sketch.zeroCount = s.z;
  sketch.count = sketch.store.count + sketch.negativeStore.count + s.z;
  return qs.map((q) => (sketch.count === 0 ? null : sketch.getValueAtQuantile(q)));
}

export function isQuantileState(s: unknown): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const q = s as Partial<QuantileState>;
  return typeof q.z === 'number' && typeof q.po === 'number' && typeof q.no === 'number' && Array.isArray(q.pc) && Array.isArray(q.nc);
}
