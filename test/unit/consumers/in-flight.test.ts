import { describe, expect, it } from 'vitest';
import { InFlightLimiter } from '../../../src/consumers/in-flight.ts';

function limiter() {
  const log: string[] = [];
  const l = new InFlightLimiter<string>({ maxInFlightBytes: 100, resumeBelowBytes: 50 }, {
    pause: (ids) => log.push(`pause ${ids.join(',')}`),
    resume: (ids) => log.push(`resume ${ids.sort().join(',')}`),
  });
  return { l, log };
}

describe('InFlightLimiter', () => {
  it('does nothing below the bound', () => {
    const { l, log } = limiter();
    l.add('a', 60);
    l.add('b', 40);
    expect(l.total).toBe(100);
    expect(log).toEqual([]);
  });

  it('pauses every lane, idle ones too, above the bound, and resumes them all at the resume mark', () => {
    const { l, log } = limiter();
    for (const id of ['a', 'b', 'c', 'idle']) l.register(id);
    l.add('a', 30);
    l.add('b', 50);
    l.add('c', 30); // 110 > 100
    expect(log).toEqual(['pause a,b,c,idle']);
    expect(l.pausedCount).toBe(4);
    l.register('new'); // a lane opening while intake is paused starts paused
    expect(log[1]).toBe('pause new');
    l.release('b', 50); // 60: still above 50
    expect(log).toHaveLength(2);
    l.release('a', 30); // 30 <= 50
    expect(log[2]).toBe('resume a,b,c,idle,new');
    expect(l.pausedCount).toBe(0);
    expect(l.total).toBe(30);
  });

  it('a forgotten lane releases what it held and is resumed', () => {
    const { l, log } = limiter();
    l.register('a');
    l.add('a', 120);
    expect(log).toEqual(['pause a']);
    l.forget('a');
    expect(l.total).toBe(0);
    expect(log).toEqual(['pause a', 'resume a']);
    expect(l.isPaused('a')).toBe(false);
    // the batch that was in flight when the lane closed releases its bytes afterwards
    l.release('a', 120);
    expect(l.total).toBe(0);
    l.add('b', 10);
    expect(l.total).toBe(10);
  });

  it('under a burst, stays within the bound plus one fetch response, since a lane holds one batch at a time', () => {
    const { l } = limiter();
    const lanes = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const id of lanes) l.register(id);
    const holding = new Set<string>();
    let peak = 0;
    let paused = 0;
    let overAndFetching = 0;
    for (let round = 0; round < 200; round++) {
      // every idle, unpaused lane fetches a 40-byte batch; every other round half of the busy ones finish
      const above = l.total > 100;
      for (const id of lanes) {
        if (holding.has(id) || l.isPaused(id)) continue;
        if (above) overAndFetching++;
        l.add(id, 40);
        holding.add(id);
        peak = Math.max(peak, l.total);
      }
      paused = Math.max(paused, l.pausedCount);
      if (round % 2 === 1) {
        for (const id of [...holding].slice(0, 3)) {
          l.release(id, 40);
          holding.delete(id);
        }
      }
    }
    expect(paused).toBeGreaterThan(0);
    // one fetch response: every idle lane's batch at once; after that, nobody fetches while above
    expect(peak).toBeLessThanOrEqual(100 + lanes.length * 40);
    expect(overAndFetching).toBe(0);
  });
});
