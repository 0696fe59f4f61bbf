import { describe, expect, it } from 'vitest';
import { BatchController } from '../../../src/consumers/batch-controller.ts';

const bounds = { maxRecords: 2000, maxBytes: 1 << 20, targetLatencyMs: 50, maxIntervalMs: 100 };

/** Feeds the controller transactions processing at `perRecordMs` and committing in `fixedMs`, until it settles. */
function settle(c: BatchController, backlog: number, fixedMs: number, perRecordMs: number): number {
  let n = 0;
  for (let i = 0; i < 100; i++) {
    n = Math.min(backlog, c.plan(backlog).maxRecords);
    c.observe(n, perRecordMs * n, fixedMs + perRecordMs * n);
  }
  return n;
}

describe('BatchController', () => {
  it('starts small: a fresh lane does not know its costs yet', () => {
    const plan = new BatchController(bounds).plan(40);
    expect(plan).toEqual({ mode: 'latency', maxRecords: 50, deadlineMs: 25 });
  });

  it('grows transactions to maxRecords and the deadline to maxIntervalMs when the lag cannot drain within the target', () => {
    const c = new BatchController(bounds);
    c.observe(1000, 20, 30); // 0.03 ms per record
    expect(c.plan(100_000)).toEqual({ mode: 'catch-up', maxRecords: 2000, deadlineMs: 100 });
  });

  it('caught up, caps a transaction at what takes half the latency target to process', () => {
    const c = new BatchController(bounds);
    // 0.05 ms of processing per record, a 10 ms commit, a backlog that drains in time
    settle(c, 600, 10, 0.05);
    const plan = c.plan(600);
    expect(plan.mode).toBe('latency');
    // 25 ms / 0.05 ms = 500 records: the commit time does not shrink it further
    expect(plan.maxRecords).toBeGreaterThanOrEqual(495);
    expect(plan.maxRecords).toBeLessThanOrEqual(505);
  });

  it('shrinks transactions again when records get expensive', () => {
    const c = new BatchController(bounds);
    settle(c, 100, 2, 0.01);
    const cheap = c.plan(100).maxRecords;
    settle(c, 100, 2, 0.2);
    expect(c.plan(100).mode).toBe('latency');
    expect(c.plan(100).maxRecords).toBeLessThan(cheap);
  });

  it('ignores empty transactions and nonsense timings', () => {
    const c = new BatchController(bounds);
    const before = c.costPerRecordMs;
    c.observe(0, 5, 10);
    c.observe(10, 5, Number.NaN);
    c.observe(10, Number.NaN, 5);
    expect(c.costPerRecordMs).toBe(before);
  });
});
