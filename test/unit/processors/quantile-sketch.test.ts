import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BINS, isQuantileState, quantileAdd, quantileInit, quantileMerge, quantileValues } from '../../../src/processors/quantile-sketch.ts';
import type { QuantileState } from '../../../src/processors/quantile-sketch.ts';
import { mulberry32 } from '../../helpers/event-stream.ts';

const sketchOf = (values: Iterable<number>): QuantileState => {
  let s = quantileInit();
  for (const v of values) s = quantileAdd(s, v);
  return s;
};

/** docs/output.md: the value at rank floor(q × (n − 1)) of the values in ascending order. */
const exact = (values: readonly number[], q: number): number => [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))]!;

const QS = [0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1];

function expectWithinOnePercent(values: readonly number[], s: QuantileState): void {
  const got = quantileValues(s, QS);
  QS.forEach((q, i) => {
    const want = exact(values, q);
    // 1% of the true value; the tiny slack absorbs floating-point rounding at the bin edge.
    expect(Math.abs(got[i]! - want), `q=${q}: got ${got[i]}, exact ${want}`).toBeLessThanOrEqual(0.01 * Math.abs(want) * (1 + 1e-9));
  });
}

describe('quantile sketch (DDSketch)', () => {
  it('is null when empty, and exact for zero', () => {
    expect(quantileValues(quantileInit(), [0.5, 0.99])).toEqual([null, null]);
    expect(quantileValues(sketchOf([0, 0, 0]), [0.5])).toEqual([0]);
  });

  it.each([
    ['uniform latencies', (r: () => number) => 1 + r() * 999],
    ['heavy-tailed', (r: () => number) => Math.exp(r() * 20) / 1000],
    ['mixed signs and zeros', (r: () => number) => (r() < 0.1 ? 0 : (r() - 0.4) * 1e4)],
    ['integers', (r: () => number) => Math.floor(r() * 1000) - 50],
  ])('estimates every quantile of %s within 1%', (_, draw) => {
    const rand = mulberry32(7);
    const values = Array.from({ length: 20_000 }, () => draw(rand));
    expectWithinOnePercent(values, sketchOf(values));
  });

  it('merges negative values too (the library merge drops them), and survives JSON', () => {
    const a = [-5, -3, -1, 2];
    const b = [-100, -50, 0, 7];
    const merged = quantileMerge(sketchOf(a), sketchOf(b));
    expect(merged).toEqual(sketchOf([...b, ...a]));
    expectWithinOnePercent([...a, ...b], merged);
    expect(JSON.parse(JSON.stringify(merged))).toEqual(merged);
    expect(isQuantileState(merged) && !isQuantileState([0, 1]) && !isQuantileState(null)).toBe(true);
  });

  it('keeps at most MAX_BINS bins per sign: a tiny outlier folds into the lowest bin, the upper quantiles stay within 1%', () => {
    const rand = mulberry32(11);
    const values = Array.from({ length: 5000 }, () => 1 + rand() * 999);
    const s = sketchOf([...values, 1e-300, -1e-300, -500]);
    expect(s.pc.length).toBeLessThanOrEqual(MAX_BINS);
    expect(s.nc.length).toBeLessThanOrEqual(MAX_BINS);
    const [lowest, p50, p99, top] = quantileValues(s, [0, 0.5, 0.99, 1]);
    // The smallest value (-500) is exact to 1%; the next one, -1e-300, comes out as the cutoff
    // bin's value (-500 / γ^2047 or so), farther from zero but still tiny.
    expect(Math.abs(lowest! + 500)).toBeLessThanOrEqual(5);
    const sorted = [...values].sort((a, b) => a - b);
    const n = values.length + 3;
    for (const [q, got] of [[0.5, p50], [0.99, p99], [1, top]] as const) {
      const want = [-500, -1e-300, 1e-300, ...sorted][Math.floor(q * (n - 1))]!;
      expect(Math.abs(got! - want)).toBeLessThanOrEqual(0.01 * want);
    }
    const [, second, third] = quantileValues(s, [0, 1 / (n - 1), 2 / (n - 1)]);
    expect(second! < 0 && second! > -1e-14).toBe(true);
    expect(third! > 0 && third! < 1e-14).toBe(true);
  });

  it('collapses the same whichever comes first: the outlier or the values that push the cutoff past it', () => {
    const values = [3e-20, 1e-5, 2, 7e17, 1e-10, 5e19, 4e-3];
    const forward = sketchOf(values);
    expect(forward.pc.length).toBe(MAX_BINS);
    expect(sketchOf([...values].reverse())).toEqual(forward);
    expect(quantileMerge(sketchOf(values.slice(0, 3)), sketchOf(values.slice(3)))).toEqual(forward);
  });

  it('collapses a state written before MAX_BINS (more bins) on its next add and merge', () => {
    const old = { z: 0, po: -3000, pc: [1, ...new Array<number>(2998).fill(0), 1], no: 0, nc: [] };
    const added = quantileAdd(structuredClone(old), 1);
    expect(added.pc.length).toBeLessThanOrEqual(MAX_BINS);
    expect(quantileMerge(old, quantileInit())).toEqual(quantileMerge(quantileInit(), old));
    expect(quantileMerge(old, quantileInit()).pc.length).toBe(MAX_BINS);
    expect(quantileAdd(structuredClone(old), 1e-300)).toEqual(quantileMerge(old, sketchOf([1e-300])));
  });

  // Mostly realistic magnitudes, with some from anywhere in the doubles' range, so that the
  // collapse at MAX_BINS is crossed in both directions and by merges.
  const valuesArb = fc.array(
    fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((v) => v === 0 || Math.abs(v) > 1e-3),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    ),
    { maxLength: 80 },
  );
  const withinRange = (values: readonly number[]): boolean => {
    const max = Math.max(...values.map(Math.abs));
    return values.every((v) => v === 0 || Math.abs(v) >= max / 1e17);
  };

  it('property: merge is commutative and associative, equals the whole stream, and never mutates its inputs', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, valuesArb, (x, y, z) => {
        const [a, b, c] = [sketchOf(x), sketchOf(y), sketchOf(z)];
        const before = structuredClone([a, b, c]);
        const whole = sketchOf([...y, ...z, ...x]);
        expect(quantileMerge(quantileMerge(a, b), c)).toEqual(whole);
        expect(quantileMerge(a, quantileMerge(c, b))).toEqual(whole);
        expect([a, b, c]).toEqual(before);
        expect(whole.pc.length <= MAX_BINS && whole.nc.length <= MAX_BINS).toBe(true);
        // Within 17 orders of magnitude of the largest, nothing collapses: every quantile holds.
        const all = [...x, ...y, ...z];
        if (all.length > 0 && withinRange(all)) expectWithinOnePercent(all, whole);
      }),
    );
  });
});
