import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isQuantileState, quantileAdd, quantileInit, quantileMerge, quantileValues } from '../../../src/processors/quantile-sketch.ts';
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

  const valuesArb = fc.array(
  fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    // Bins span the values' range of magnitudes (docs/output.md); keep it realistic here.
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((v) => v === 0 || Math.abs(v) > 1e-3)), { maxLength: 80 });

  it('property: merge is commutative and associative, equals the whole stream, and never mutates its inputs', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, valuesArb, (x, y, z) => {
        const [a, b, c] = [sketchOf(x), sketchOf(y), sketchOf(z)];
        const before = structuredClone([a, b, c]);
        const whole = sketchOf([...y, ...z, ...x]);
        expect(quantileMerge(quantileMerge(a, b), c)).toEqual(whole);
        expect(quantileMerge(a, quantileMerge(c, b))).toEqual(whole);
        expect([a, b, c]).toEqual(before);
        if (x.length + y.length + z.length > 0) expectWithinOnePercent([...x, ...y, ...z], whole);
      }),
    );
  });
});
