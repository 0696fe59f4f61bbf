// A window's grace grows between two runs over the same store: the windows that already closed
// under the old grace must stay closed, or an event the new grace admits writes a second final.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import { MergeProcessor } from '../../../src/processors/merge-processor.ts';
import { partialRecord, watermarkRecords } from '../../../src/processors/partials.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';
import type { OutRecord } from '../../../src/model/records.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };

function spec(graceMs: number, sizeMs = 1000): PipelineSpec {
  return {
    keyField: 'player',
    idField: 'id',
    dedupeTtlMs: 1000,
    eventTimeField: 'ts',
    maxRecordBytes: 1 << 20,
    windows: [{ name: 'm', groupBy: ['player'], kind: 'tumbling', sizeMs, advanceMs: sizeMs, graceMs, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
  };
}

let offset = 0;
const event = (id: string, ts: number): InputRecord => ({ offset: String(offset++), key: Buffer.from('p1'), value: Buffer.from(JSON.stringify({ id, player: 'p1', ts })), timestamp: String(ts) });

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one batch through its own store transaction and commits it locally; returns its outputs. */
function run(store: PartitionStore, s: PipelineSpec, records: InputRecord[]): OutRecord[] {
  const tx = new StoreTransaction(store, storeTimes(s));
  const meta = store.meta();
  const result = new BatchProcessor(s, TOPICS, 0).process(records, tx, meta.streamTime);
  tx.commitLocal(meta.changelogNext, { inputOffset: String(offset), changelogNext: meta.changelogNext, streamTime: result.streamTime });
  return result.records;
}

const finals = (out: OutRecord[]) => out.filter((r) => r.topic === TOPICS.output).map((r) => JSON.parse(String(r.value)) as { start: number; values: { n: number } });

describe('a window config change', () => {
  it('never writes a second final for a window that closed under the old grace', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-config-change-'));
    const path = join(dir, 'partition-0.mdb');
    const before = new PartitionStore(path, storeTimes(spec(100)));
    // Window [0, 1000) closes at 1100 under grace 100.
    expect(finals(run(before, spec(100), [event('a', 10), event('b', 20), event('c', 1150)]))).toEqual([expect.objectContaining({ start: 0, values: { n: 2 } })]);
    await before.close();

    // Grace is now 500: [0, 1000) would be open until 1500, but its final is out already.
    const after = new PartitionStore(path, storeTimes(spec(500)));
    try {
      const out = run(after, spec(500), [event('d', 30), event('e', 2600)]);
      expect(out.filter((r) => r.topic === TOPICS.deadLetter)).toHaveLength(1);
      expect(finals(out)).toEqual([expect.objectContaining({ start: 1000, values: { n: 1 } })]);
    } finally {
      await after.close();
    }
  });
});

describe('a window size change', () => {
  it('starts the new geometry afresh: its windows were never closed, so their events are on time', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-config-change-'));
    const path = join(dir, 'partition-0.mdb');
    const before = new PartitionStore(path, storeTimes(spec(0)));
    // [10000, 11000) closes, and is marked closed, under a 1 s size.
    expect(finals(run(before, spec(0), [event('a', 10_000), event('b', 12_500)]))).toEqual([expect.objectContaining({ start: 10_000, values: { n: 1 } })]);
    await before.close();

    // Now 1 h windows: [0, 3600000) starts before the old mark but never existed, let alone closed.
    const hour = spec(0, 3_600_000);
    const after = new PartitionStore(path, storeTimes(hour));
    try {
      const out = run(after, hour, [event('c', 13_000), event('d', 14_000), event('e', 3_600_000)]);
      expect(out.filter((r) => r.topic === TOPICS.deadLetter)).toHaveLength(0);
      // The old 1 s window of `b` still closes at the time it was created with.
      expect(finals(out)).toEqual([expect.objectContaining({ start: 12_000, values: { n: 1 } }), expect.objectContaining({ start: 0, values: { n: 2 } })]);
    } finally {
      await after.close();
    }
  });
});

describe('a cross-partition window config change', () => {
  const asInput = (records: OutRecord[]): InputRecord[] =>
    records.map((r, i) => ({ offset: String(i), key: Buffer.from(String(r.key)), value: r.value === null ? null : Buffer.from(String(r.value)), timestamp: '0' }));
  const partial = (s: number, n: number) => partialRecord('partials', 1, { w: 'm', g: ['eu'], s, a: [n] }, 0, false);

  it("drops a partial of a window whose final the merge lane already wrote, whatever the new grace", () => {
    const store = new MemoryStore(spec(100));
    const merge = (graceMs: number) => new MergeProcessor({ window: spec(graceMs).windows[0]!, outputTopic: TOPICS.output, partialsTopic: 'partials', partition: 0, sources: 1 });
    const first = merge(100);
    first.onOpen(store);
    const out = first.process(asInput([partial(0, 2), ...watermarkRecords('partials', 1, 0, 1150)]), store.nextBatch(), 0);
    expect(finals(out.records)).toEqual([expect.objectContaining({ start: 0, values: { n: 2 } })]);

    // Grace is now 500, and a source sends [0, 1000) again (a redelivery, or an event the new grace admitted).
    const second = merge(500);
    second.onOpen(store);
    const again = second.process(asInput([partial(0, 3), ...watermarkRecords('partials', 1, 0, 2600)]), store.nextBatch(), 0);
    expect(finals(again.records)).toEqual([]);
  });
});
