// quantiles' sketch: DDSketch (@datadog/sketches-js) at 1% relative accuracy. The library's
// logarithmic mapping decides which bin a value falls in and its sketch answers the quantile
// queries; the bins live in the window state as plain arrays, because the state must be a plain
// JSON value that one event updates in place (a protobuf round trip per event would cost more
// than the rest of the event's processing), and because the library's own merge drops the
// negative values' bins (2.1.1). Counts are integers, so merging is exactly commutative and
// associative: the state is a function of the multiset of bins, whatever the order.
import { DDSketch } from '@datadog/sketches-js';

/** Bin counts from key `o` (positive values `p*`, negative values by magnitude `n*`), and the zeros. */
export type QuantileState = { z: number; po: number; pc: number[]; no: number; nc: number[] };

export const RELATIVE_ACCURACY = 0.01;

const newSketch = (): DDSketch => new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
const MAPPING = newSketch().mapping;

export function quantileInit(): QuantileState {
  return { z: 0, po: 0, pc: [], no: 0, nc: [] };
}

/** Adds one to bin `key` of counts starting at `offset`; returns the (possibly new) offset. */
function bump(counts: number[], offset: number, key: number): number {
  if (counts.length === 0) {
    counts.push(1);
    return key;
  }
  if (key < offset) {
    counts.unshift(1, ...new Array<number>(offset - key - 1).fill(0));
    return key;
  }
  while (counts.length <= key - offset) counts.push(0);
  counts[key - offset]!++;
  return offset;
}

export function quantileAdd(s: QuantileState, value: number): QuantileState {
  if (value > MAPPING.minPossible) s.po = bump(s.pc, s.po, MAPPING.key(value));
  else if (value < -MAPPING.minPossible) s.no = bump(s.nc, s.no, MAPPING.key(-value));
  else s.z++;
  return s;
}

function mergeBins(ao: number, ac: readonly number[], bo: number, bc: readonly number[]): [number, number[]] {
  if (ac.length === 0) return [bo, [...bc]];
  if (bc.length === 0) return [ao, [...ac]];
  const offset = Math.min(ao, bo);
  const out = new Array<number>(Math.max(ao + ac.length, bo + bc.length) - offset).fill(0);
  for (let i = 0; i < ac.length; i++) out[ao - offset + i]! += ac[i]!;
  for (let i = 0; i < bc.length; i++) out[bo - offset + i]! += bc[i]!;
  return [offset, out];
}

export function quantileMerge(a: QuantileState, b: QuantileState): QuantileState {
  const [po, pc] = mergeBins(a.po, a.pc, b.po, b.pc);
  const [no, nc] = mergeBins(a.no, a.nc, b.no, b.nc);
  return { z: a.z + b.z, po, pc, no, nc };
}

/**
 * The value at rank floor(q × (n − 1)) of the n values in ascending order, within 1% of it, for
 * each q, or null for every q when the sketch is empty.
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
