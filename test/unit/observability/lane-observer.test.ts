import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { metricsObserver } from '../../../src/observability/lane-observer.ts';
import type { CommittedChunk } from '../../../src/observability/lane-observer.ts';
import { counterTotal, createMetrics } from '../../../src/observability/metrics.ts';
import type { CommitEvent } from '../../../src/observability/tracing.ts';

const now = Date.now();
const input = [{ timestamp: String(now - 5000) }, { timestamp: String(now - 2000) }, { timestamp: String(now - 1000) }, { timestamp: String(now) }];

function chunk(over: Partial<CommittedChunk> = {}): CommittedChunk {
  return {
    lane: 'partition 3',
    mode: 'latency',
    records: 2,
    outputs: 4,
    nextOffset: '43',
    commitSeconds: 0.02,
    streamTime: now,
    stats: { records: 2, duplicates: 1, late: 0, deadLetters: new Map([['invalid-json', 1]]), finals: 2, updates: 1 },
    input,
    first: 1,
    end: 3,
    ...over,
  };
}

async function latencyCount(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  const { values } = await metrics.eventLatency.get();
  return values.find((v) => v.metricName === 'sluice_event_latency_seconds_count')?.value ?? 0;
}

describe('metricsObserver', () => {
  it('turns a committed chunk into metrics, one latency sample per record of the chunk only', async () => {
    const metrics = createMetrics({ application: 't' });
    metricsObserver(metrics, '3', 'source').committed(chunk());
    expect(await counterTotal(metrics.commits, { partition: '3' })).toBe(1);
    expect(await counterTotal(metrics.recordsIn, { partition: '3' })).toBe(2);
    expect(await counterTotal(metrics.duplicates)).toBe(1);
    expect(await counterTotal(metrics.deadLetters, { reason: 'invalid-json' })).toBe(1);
    expect(await counterTotal(metrics.outputs, { kind: 'final' })).toBe(2);
    expect(await counterTotal(metrics.outputs, { kind: 'update' })).toBe(1);
    expect(await counterTotal(metrics.batchMode, { mode: 'latency' })).toBe(1);
    expect(await latencyCount(metrics)).toBe(2);
  });

  it('counts no input or latency for a merge lane, whose input is partials', async () => {
    const metrics = createMetrics({ application: 't' });
    metricsObserver(metrics, 'w-merge/3', 'merge').committed(chunk());
    expect(await counterTotal(metrics.commits, { partition: 'w-merge/3' })).toBe(1);
    expect(await counterTotal(metrics.recordsIn)).toBe(0);
    expect(await latencyCount(metrics)).toBe(0);
  });

  it('publishes the commit on sluice:commit', () => {
    const seen: CommitEvent[] = [];
    const listener = (e: unknown) => void seen.push(e as CommitEvent);
    subscribe('sluice:commit', listener);
    try {
      metricsObserver(createMetrics({ application: 't' }), '3', 'source').committed(chunk());
    } finally {
      unsubscribe('sluice:commit', listener);
    }
    expect(seen).toEqual([{ lane: 'partition 3', records: 2, outputs: 4, nextOffset: '43', durationMs: 20 }]);
  });
});
