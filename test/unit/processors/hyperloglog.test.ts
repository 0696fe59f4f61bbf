import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hllAdd, hllEstimate, hllMerge, isHllState } from '../../../src/processors/hyperloglog.ts';
import type { HllState } from '../../../src/processors/hyperloglog.ts';

function sketchOf(values: Iterable<string | number | boolean>): HllState {
  let s: HllState = [];
  for (const v of values) s = hllAdd(s, v);
  return s;
}

function* range(n: number, make: (i: number) => string | number): Generator<string | number> {
  for (let i = 0; i < n; i++) yield make(i);
}

describe('HyperLogLog (countDistinct)', () => {
  it('is exact in its sparse form and counts each value once', () => {
    expect(hllEstimate([])).toBe(0);
    const s = sketchOf(['a', 'b', 'a', 1, '1', true, 'true', 1]);
    expect(Math.round(hllEstimate(s))).toBe(6);
    expect(Math.round(hllEstimate(sketchOf(range(1000, (i) => `player-${i}`))))).toBe(1000);
  });

  it('keeps small sketches small: bytes grow with the distinct values, up to the 16 KB dense form', () => {
    expect(JSON.stringify(sketchOf(range(3, (i) => i))).length).toBeLessThan(40);
    const big = sketchOf(range(5000, (i) => i));
    expect(big).toBeInstanceOf(Uint8Array);
    expect((big as Uint8Array).length).toBe(16_384);
    expect(JSON.stringify(big).length).toBe(16_386);
  });

  it('updates dense registers in place, and reads the string (JSON) and Buffer (LMDB) forms alike', () => {
    const values = [...range(5000, (i) => `v${i}`)];
    const dense = sketchOf(values);
    const json = JSON.parse(JSON.stringify(dense)) as string;
    expect(typeof json).toBe('string');
    expect(isHllState(json) && isHllState(dense) && isHllState(Buffer.from(dense as Uint8Array))).toBe(true);
    expect(hllEstimate(json)).toBe(hllEstimate(dense));
    const more = (s: HllState): HllState => {
      for (const v of range(3000, (i) => `w${i}`)) s = hllAdd(s, v);
      return s;
    };
    // A string or a Buffer is copied once, never changed: what holds it (a transaction's read) is not touched.
    const buffer = Buffer.from(dense as Uint8Array);
    const bufferCopy = Buffer.from(buffer);
    const fromDense = more(dense);
    expect(fromDense).toBe(dense);
    expect(fromDense).not.toEqual(bufferCopy);
    expect(more(json)).toEqual(fromDense);
    expect(more(buffer)).toEqual(fromDense);
    expect(buffer).toEqual(bufferCopy);
    expect(JSON.stringify(more(buffer))).toBe(JSON.stringify(fromDense));
    expect(JSON.stringify(hllMerge(json, buffer)) === JSON.stringify(json)).toBe(true);
  });

  it.each([
    ['strings', 2_000, (i: number) => `e${i}`],
    ['integers', 20_000, (i: number) => i * 7],
    ['ids', 250_000, (i: number) => `user-${i}@example`],
  ])('estimates %s (n = %i) within 2%', (_, n, make) => {
    const estimate = hllEstimate(sketchOf(range(n, make)));
    expect(Math.abs(estimate - n) / n).toBeLessThanOrEqual(0.02);
  });

  it('merges to the sketch of the union, sparse or dense, and survives JSON', () => {
    const a = sketchOf(range(3000, (i) => i));
    const b = sketchOf(range(3000, (i) => i + 1500));
    const union = sketchOf(range(4500, (i) => i));
    expect(hllMerge(a, b)).toEqual(union);
    expect(hllMerge(sketchOf(range(10, (i) => i + 1500)), b)).toEqual(b);
    expect(hllMerge(JSON.parse(JSON.stringify(a)) as string, b)).toEqual(union);
    expect(isHllState(union) && isHllState([]) && !isHllState('x') && !isHllState(new Uint8Array(3)) && !isHllState(3)).toBe(true);
  });

  const valuesArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.string({ maxLength: 4 })), { maxLength: 700 });

  it('property: merge is commutative and associative, and equals adding everything to one sketch', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, valuesArb, (x, y, z) => {
        const [a, b, c] = [sketchOf(x), sketchOf(y), sketchOf(z)];
        const whole = sketchOf([...z, ...y, ...x]);
        expect(hllMerge(hllMerge(a, b), c)).toEqual(whole);
        expect(hllMerge(a, hllMerge(c, b))).toEqual(whole);
        expect(hllMerge(b, a)).toEqual(hllMerge(a, b));
      }),
      { numRuns: 60 },
    );
  });
});
