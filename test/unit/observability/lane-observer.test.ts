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
    stats: { records: 2, duplicates: 1, late: 0, deadLetters: new Map([['invalid-json', 1]]), finals: 2, updates: 1, dropped: 0 },
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

  it('counts closed windows by reason: stream time, idle close, merge watermark, dropped', async () => {
    const metrics = createMetrics({ application: 't' });
    const source = metricsObserver(metrics, '3', 'source');
    source.committed(chunk({ stats: { ...chunk().stats, finals: 2, dropped: 1 } }));
    source.committed(chunk({ mode: 'idle', stats: { ...chunk().stats, finals: 3, dropped: 0 } }));
    metricsObserver(metrics, 'w-merge/3', 'merge').committed(chunk({ stats: { ...chunk().stats, finals: 4, dropped: 5 } }));
    expect(await counterTotal(metrics.windowsClosed, { partition: '3', reason: 'stream-time' })).toBe(2);
    expect(await counterTotal(metrics.windowsClosed, { partition: '3', reason: 'idle' })).toBe(3);
    expect(await counterTotal(metrics.windowsClosed, { partition: '3', reason: 'dropped' })).toBe(1);
    expect(await counterTotal(metrics.windowsClosed, { partition: 'w-merge/3', reason: 'watermark' })).toBe(4);
    // a merge lane's dropped are redelivered partials, not windows
    expect(await counterTotal(metrics.windowsClosed, { partition: 'w-merge/3', reason: 'dropped' })).toBe(0);
  });

  it("reports an open lane's state, restore progress and pause at scrape time, and nothing once it closed", async () => {
    const metrics = createMetrics({ application: 't' });
    const lane = metricsObserver(metrics, '3', 'source');
    lane.restoring(120);
    expect(await metrics.registry.getSingleMetricAsString('sluice_restore_remaining_records')).toContain('sluice_restore_remaining_records{partition="3",application="t"} 120');
    lane.restored({ lane: 'partition 3', mode: 'full', records: 120, durationMs: 5 });
    let entries = 7;
    lane.opened({ stats: () => ({ stores: [{ store: 'windows', entries, bytes: 8192 }], fileBytes: 40960 }), openWindows: () => entries });
    lane.paused(true);
    entries = 9;
    const text = await metrics.registry.metrics();
    for (const line of [
      'sluice_restore_remaining_records{partition="3",application="t"} 0',
      'sluice_state_entries{partition="3",store="windows",application="t"} 9',
      'sluice_state_bytes{partition="3",store="windows",application="t"} 8192',
      'sluice_state_file_bytes{partition="3",application="t"} 40960',
      'sluice_open_windows{partition="3",application="t"} 9',
      'sluice_partition_paused{partition="3",application="t"} 1',
    ]) expect(text).toContain(line);
    lane.closed();
    expect(await metrics.registry.metrics()).not.toMatch(/^sluice_(state_\w+|open_windows|partition_paused|restore_remaining_records)\{/m);
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
