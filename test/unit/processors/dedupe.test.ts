import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DedupeProcessor } from '../../../src/processors/dedupe.ts';
import type { DedupeStore } from '../../../src/model/store-ports.ts';
import type { DedupeVerdict } from '../../../src/processors/dedupe.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';
import { allWindowsClosed, dedupeForgetAfter } from '../../../src/processors/window-math.ts';

class MapStore implements DedupeStore {
  readonly map = new Map<string, number>();
  get(id: string): number | undefined {
    return this.map.get(id);
  }
  put(id: string, t0: number): void {
    this.map.set(id, t0);
  }
}

/**
 * Reference straight from the rule, re-derived from the whole history for each
 * event: t0 is the time of the latest earlier event of the same id that was not
 * itself a duplicate.
 */
function referenceVerdicts(events: ReadonlyArray<readonly [string, number]>, ttl: number): DedupeVerdict[] {
  const verdicts: DedupeVerdict[] = [];
  for (let i = 0; i < events.length; i++) {
    const [id, t] = events[i]!;
    let t0: number | undefined;
    for (let j = i - 1; j >= 0; j--) {
      if (events[j]![0] === id && verdicts[j] === 'first') {
        t0 = events[j]![1];
        break;
      }
    }
    verdicts.push(t0 !== undefined && t <= t0 + ttl ? 'duplicate' : 'first');
  }
  return verdicts;
}

describe('DedupeProcessor', () => {
  it('applies the ttl window inclusively, including earlier times', () => {
    const store = new MapStore();
    const d = new DedupeProcessor(store, 100);
    expect(d.check('a', 1000)).toBe('first');
    expect(d.check('a', 1000)).toBe('duplicate');
    expect(d.check('a', 1100)).toBe('duplicate');
    expect(d.check('a', 0)).toBe('duplicate');
    expect(d.check('b', 1000)).toBe('first');
    expect(d.check('a', 1101)).toBe('first');
    expect(store.get('a')).toBe(1101);
    expect(d.check('a', 1150)).toBe('duplicate');
  });

  it('duplicates do not move t0', () => {
    const store = new MapStore();
    const d = new DedupeProcessor(store, 10);
    d.check('a', 0);
    d.check('a', 10);
    expect(store.get('a')).toBe(0);
    expect(d.check('a', 11)).toBe('first');
  });

  it('property: matches the reference model', () => {
    const eventArb = fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: -1000, max: 1000 }));
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 80 }), fc.integer({ min: 0, max: 500 }), (events, ttl) => {
        const d = new DedupeProcessor(new MapStore(), ttl);
        const actual = events.map(([id, t]) => d.check(id, t));
        expect(actual).toEqual(referenceVerdicts(events, ttl));
      }),
      { numRuns: 500 },
    );
  });

  it('property: forgetting ids after dedupeForgetAfter never changes a verdict for a non-late record', () => {
    const winArb = fc
      .record({ advance: fc.integer({ min: 1, max: 50 }), k: fc.integer({ min: 1, max: 4 }), grace: fc.integer({ min: 0, max: 60 }) })
      .map(({ advance, k, grace }): WindowSpec => ({
        name: 'w',
        groupBy: [],
        kind: 'hopping',
        sizeMs: advance * k,
        advanceMs: advance,
        graceMs: grace,
        emit: 'final',
        aggregates: [],
      }));
    // Mostly advancing time with out-of-order jitter, so stream time moves on and ids expire.
    const stepsArb = fc.array(
      fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 20 }), fc.integer({ min: -150, max: 30 })),
      { maxLength: 120 },
    );
    fc.assert(
      fc.property(fc.array(winArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 200 }), stepsArb, (windows, ttl, steps) => {
        const spec: PipelineSpec = { keyField: 'k', idField: 'id', dedupeTtlMs: ttl, eventTimeField: 't', maxRecordBytes: 1e6, windows };
        const kept = new DedupeProcessor(new MapStore(), ttl);
        const forgetfulStore = new MapStore();
        const forgetful = new DedupeProcessor(forgetfulStore, ttl);
        let clock = 0;
        let streamTime = -Infinity;
        for (const [id, advance, jitter] of steps) {
          clock += advance;
          const t = clock + jitter;
          for (const [key, t0] of forgetfulStore.map) {
            if (streamTime > dedupeForgetAfter(t0, spec)) forgetfulStore.map.delete(key);
          }
          if (!allWindowsClosed(t, windows, streamTime)) {
            expect(forgetful.check(id, t)).toBe(kept.check(id, t));
          }
          if (t > streamTime) streamTime = t;
        }
      }),
      { numRuns: 500 },
    );
  });
});
