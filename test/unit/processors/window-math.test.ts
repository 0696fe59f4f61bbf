import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import {
  allWindowsClosed,
  dedupeForgetAfter,
  floorTo,
  specWindowStartsInto,
  windowStartsInto,
} from '../../../src/processors/window-math.ts';

// The allocating and closed-window forms sluice itself never needs; the tests state expectations with them.
function windowStartsFor(t: number, sizeMs: number, advanceMs: number): number[] {
  const out: number[] = [];
  windowStartsInto(t, sizeMs, advanceMs, out);
  return out;
}

function windowCloseTime(start: number, sizeMs: number, graceMs: number): number {
  return start + sizeMs + graceMs;
}

function isClosed(start: number, spec: WindowSpec, streamTime: number): boolean {
  return streamTime >= start + spec.sizeMs + spec.graceMs;
}

// Date's representable range; keeps t - size well inside 2^53.
const DATE_LIMIT = 8_640_000_000_000_000n;
const anyTime = fc.oneof(
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.bigInt({ min: -DATE_LIMIT, max: DATE_LIMIT }).map(Number),
);

/** Independent oracle: exact BigInt arithmetic over every aligned candidate near t. */
function bruteStarts(t: number, size: number, advance: number): number[] {
  const T = BigInt(t);
  const S = BigInt(size);
  const A = BigInt(advance);
  const floorDiv = (x: bigint): bigint => (x >= 0n || x % A === 0n ? x / A : x / A - 1n);
  const out: number[] = [];
  for (let m = floorDiv(T - S) - 1n; m <= floorDiv(T) + 1n; m++) {
    const s = m * A;
    if (s <= T && T < s + S) out.push(Number(s));
  }
  return out;
}

function win(partial: Partial<WindowSpec>): WindowSpec {
  return {
    name: 'w',
    groupBy: [],
    kind: 'hopping',
    sizeMs: 60_000,
    advanceMs: 60_000,
    graceMs: 0,
    emit: 'final',
    aggregates: [],
    ...partial,
  };
}

describe('floorTo', () => {
  it('floors toward negative infinity', () => {
    expect(floorTo(0, 10)).toBe(0);
    expect(floorTo(9, 10)).toBe(0);
    expect(floorTo(10, 10)).toBe(10);
    expect(floorTo(-1, 10)).toBe(-10);
    expect(floorTo(-10, 10)).toBe(-10);
    expect(floorTo(-11, 10)).toBe(-20);
  });

  it('stays exact near the top of the safe range', () => {
    const t = 2 ** 53 - 1;
    expect(floorTo(t, 3) % 3).toBe(0);
    expect(t - floorTo(t, 3)).toBeLessThan(3);
  });
});

describe('windowStartsFor', () => {
  it('returns one aligned start for a tumbling size', () => {
    expect(windowStartsFor(1_700_000_099_999, 60_000, 60_000)).toEqual([1_700_000_040_000]);
    expect(windowStartsFor(1_700_000_039_999, 60_000, 60_000)).toEqual([1_699_999_980_000]);
    expect(windowStartsFor(1_700_000_040_000, 60_000, 60_000)).toEqual([1_700_000_040_000]);
  });

  it('returns every hopping window in ascending order', () => {
    expect(windowStartsFor(25, 30, 10)).toEqual([0, 10, 20]);
    expect(windowStartsFor(30, 30, 10)).toEqual([10, 20, 30]);
  });

  it('handles negative times with floored alignment', () => {
    expect(windowStartsFor(-1, 10, 5)).toEqual([-10, -5]);
    expect(windowStartsFor(-10, 10, 5)).toEqual([-15, -10]);
    expect(windowStartsFor(-1, 10, 10)).toEqual([-10]);
  });

  it('returns nothing for a time in the gap when advance > size', () => {
    expect(windowStartsFor(15, 5, 10)).toEqual([]);
    expect(windowStartsFor(12, 5, 10)).toEqual([10]);
  });

  it('reuses the output array and reports the count', () => {
    const out = [99, 99, 99, 99, 99];
    expect(windowStartsInto(25, 20, 10, out)).toBe(2);
    expect(out.slice(0, 2)).toEqual([10, 20]);
  });

  it('property: matches brute force; every start contains t, is aligned, count is size/advance', () => {
    fc.assert(
      fc.property(anyTime, fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 60 }), (t, advance, k) => {
        const size = advance * k;
        const starts = windowStartsFor(t, size, advance);
        expect(starts).toHaveLength(k);
        for (const s of starts) {
          expect(s <= t && t < s + size).toBe(true);
          expect(Math.abs(s % advance)).toBe(0);
        }
        expect(starts).toEqual(bruteStarts(t, size, advance));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: matches brute force for arbitrary size/advance ratios', () => {
    fc.assert(
      fc.property(anyTime, fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 40 }), fc.nat(), (t, advance, k, extra) => {
        // Any size from below advance (gaps between windows) up to 40 advances plus a remainder.
        const size = Math.max(1, k * advance + (extra % advance));
        const starts = windowStartsFor(t, size, advance);
        expect(starts).toEqual(bruteStarts(t, size, advance));
        expect(starts.length).toBeGreaterThanOrEqual(Math.floor(size / advance));
        expect(starts.length).toBeLessThanOrEqual(Math.ceil(size / advance));
      }),
      { numRuns: 2000 },
    );
  });

  it('aligns tumbling definitions to their size regardless of advanceMs', () => {
    const out: number[] = [];
    const n = specWindowStartsInto(125, win({ kind: 'tumbling', sizeMs: 100, advanceMs: 30 }), out);
    expect(out.slice(0, n)).toEqual([100]);
  });
});

describe('closing', () => {
  it('closes at start + size + grace, inclusive', () => {
    const w = win({ sizeMs: 100, graceMs: 20 });
    expect(windowCloseTime(200, 100, 20)).toBe(320);
    expect(isClosed(200, w, 319)).toBe(false);
    expect(isClosed(200, w, 320)).toBe(true);
  });

  it('nothing is late without windows', () => {
    expect(allWindowsClosed(0, [], 1e15)).toBe(false);
  });

  it('is late only when every window of every definition is closed', () => {
    const tumbling = win({ kind: 'tumbling', sizeMs: 100, advanceMs: 100, graceMs: 10 });
    const hopping = win({ sizeMs: 300, advanceMs: 100, graceMs: 0 });
    // t=150 → tumbling [100,200) closes at 210; hopping latest [100,400) closes at 400.
    expect(allWindowsClosed(150, [tumbling], 209)).toBe(false);
    expect(allWindowsClosed(150, [tumbling], 210)).toBe(true);
    expect(allWindowsClosed(150, [tumbling, hopping], 210)).toBe(false);
    expect(allWindowsClosed(150, [tumbling, hopping], 400)).toBe(true);
  });

  it('property: agrees with checking every enumerated window', () => {
    const winArb = fc
      .record({
        kind: fc.constantFrom('tumbling' as const, 'hopping' as const),
        advance: fc.integer({ min: 1, max: 1000 }),
        k: fc.integer({ min: 1, max: 5 }),
        grace: fc.integer({ min: 0, max: 2000 }),
      })
      .map(({ kind, advance, k, grace }) =>
        win({ kind, sizeMs: advance * k, advanceMs: kind === 'tumbling' ? advance * k : advance, graceMs: grace }),
      );
    fc.assert(
      fc.property(fc.integer({ min: -50_000, max: 50_000 }), fc.integer({ min: -5000, max: 5000 }), fc.array(winArb, { minLength: 1, maxLength: 4 }), (t, delta, ws) => {
        const streamTime = t + delta;
        const expected = ws.every((w) => bruteStarts(t, w.sizeMs, w.advanceMs).every((s) => isClosed(s, w, streamTime)));
        expect(allWindowsClosed(t, ws, streamTime)).toBe(expected);
      }),
    );
  });
});

describe('dedupeForgetAfter', () => {
  it('adds ttl, the longest window and the largest grace', () => {
    const spec: PipelineSpec = {
      keyField: 'k',
      idField: 'id',
      dedupeTtlMs: 1000,
      eventTimeField: 'ts',
      maxRecordBytes: 1024,
      windows: [win({ sizeMs: 60_000, graceMs: 5 }), win({ sizeMs: 10_000, graceMs: 2000 })],
    };
    expect(dedupeForgetAfter(100, spec)).toBe(100 + 1000 + 60_000 + 2000);
  });
});
