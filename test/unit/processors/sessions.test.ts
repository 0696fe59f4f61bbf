// Session windows case by case through BatchProcessor and a real store: merging by a bridging
// event, re-keying by an earlier event, the close index following a growing session, lateness.
// (The property over whole streams, batch boundaries and restores is in batch-processor.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';
import { applyChangelogRecord } from '../../../src/state/changelog-codec.ts';
import type { ChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';

const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const GAP = 10;
const GRACE = 5;
const SPEC: PipelineSpec = {
  keyField: 'k',
  idField: 'id',
  dedupeTtlMs: 1000,
  eventTimeField: 't',
  maxRecordBytes: 1000,
  windows: [{ name: 's', groupBy: ['k'], kind: 'session', sizeMs: GAP, advanceMs: GAP, graceMs: GRACE, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }, { name: 'sum', fn: 'sum', field: 'v' }] }],
};

let dir: string;
let stores: PartitionStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-sessions-'));
});
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
  rmSync(dir, { recursive: true, force: true });
});

let offset = 0;
const ev = (k: string, t: number, v = 1): InputRecord => ({ offset: String(offset++), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ id: `e${offset}`, k, t, v })), timestamp: '0' });

function open(name: string): PartitionStore {
  const store = new PartitionStore(join(dir, name), storeTimes(SPEC));
  stores.push(store);
  return store;
}

/** One lane: each run is a committed transaction; the changelog is kept for a replica. */
function lane() {
  const store = open('lane.mdb');
  const processor = new BatchProcessor(SPEC, TOPICS, 0);
  const changelog: ChangelogRecord[] = [];
  let streamTime = Number.NEGATIVE_INFINITY;
  return {
    store,
    changelog,
    run(records: InputRecord[]) {
      const tx = new StoreTransaction(store, storeTimes(SPEC));
      const result = processor.process(records, tx, streamTime);
      const written = tx.changelogRecords();
      changelog.push(...written);
      tx.commitLocal(undefined, { inputOffset: String(offset), changelogNext: undefined, streamTime: result.streamTime });
      streamTime = result.streamTime;
      const finals = result.records.filter((r) => r.topic === TOPICS.output).map((r) => `${String(r.key)} ${String(r.value)}`);
      const late = result.records.filter((r) => r.topic === TOPICS.deadLetter).map((r) => r.headers![DLQ_HEADER.reason]);
      return { finals, late, written };
    },
  };
}

const final = (k: string, start: number, end: number, n: number, sum: number): string =>
  `["s","${k}",${start}] {"window":"s","group":{"k":"${k}"},"start":${start},"end":${end},"final":true,"values":{"n":${n},"sum":${sum}}}`;

describe('session windows', () => {
  it('an event within the gap of two sessions merges them: one final, the superseded key tombstoned', () => {
    const l = lane();
    l.run([ev('a', 100), ev('a', 105), ev('a', 117, 2)]);
    expect(l.store.countWindows()).toBe(2);
    const { written } = l.run([ev('a', 112, 4)]);
    // [100, 115) and [117, 127) bridged by 112: [100, 127) under the earlier start.
    expect(written.filter((r) => r.key.startsWith('w|')).map((r) => [r.key, r.value === null ? null : (JSON.parse(r.value) as { e: number }).e])).toEqual([
      ['w|["s","a",117]', null],
      ['w|["s","a",100]', 127],
    ]);
    expect(l.run([ev('b', 131)]).finals).toEqual([]);
    expect(l.run([ev('b', 132)]).finals).toEqual([final('a', 100, 127, 4, 8)]);
  });

  it('an event just before a session moves its start, and its key', () => {
    const l = lane();
    l.run([ev('a', 100)]);
    const { written } = l.run([ev('a', 95)]);
    expect(written.filter((r) => r.key.startsWith('w|')).map((r) => [r.key, r.value === null])).toEqual([
      ['w|["s","a",100]', true],
      ['w|["s","a",95]', false],
    ]);
    expect(l.run([ev('b', 200)]).finals).toEqual([final('a', 95, 110, 2, 2)]);
  });

  it('a committed session that grows is not closed at its old close time, in one batch or across batches', () => {
    const l = lane();
    l.run([ev('a', 100)]); // closes at 115
    // Grown to [100, 118) by 108; then b's events move stream time past 115 but not 123.
    expect(l.run([ev('a', 108), ev('b', 116), ev('b', 122)]).finals).toEqual([]);
    expect(l.run([ev('b', 123)]).finals).toEqual([final('a', 100, 118, 2, 2)]);
  });

  it('an event older than gap + grace behind stream time is late, even inside an open session', () => {
    const l = lane();
    l.run([ev('a', 100), ev('a', 108), ev('a', 116), ev('a', 124)]);
    // The session [100, 134) is open at 124, but an event at 109 could only have joined it while
    // stream time was below 109 + gap + grace = 124.
    const { late, finals } = l.run([ev('a', 109)]);
    expect(late).toEqual(['late']);
    expect(finals).toEqual([]);
    expect(l.run([ev('a', 110)]).late).toEqual([]);
  });

  it('an event after a closed session starts a new one instead of reopening it', () => {
    const l = lane();
    l.run([ev('a', 100)]); // [100, 110), closes at 115
    expect(l.run([ev('b', 115)]).finals).toEqual([final('a', 100, 110, 1, 1)]);
    // 105 is within the gap of 100, but that session is final; its own session closes at 120 > 115.
    l.run([ev('a', 105)]);
    expect(l.run([ev('b', 120)]).finals).toEqual([final('a', 105, 115, 1, 1)]);
  });

  it('replaying the changelog rebuilds the same sessions and close index', () => {
    const l = lane();
    l.run([ev('a', 100), ev('c', 100), ev('a', 108)]);
    // c closes; a gets a second session; b starts one.
    expect(l.run([ev('a', 121), ev('b', 118)]).finals).toEqual([final('c', 100, 110, 1, 1)]);
    // 112 bridges a's sessions into [100, 131).
    l.run([ev('a', 112), ev('c', 125)]);
    const replica = open('replica.mdb');
    replica.write((w) => {
      for (const r of l.changelog) applyChangelogRecord(w, r.key, r.value);
    });
    const view = (s: PartitionStore) => ({
      windows: ['["s","a",100]', '["s","a",121]', '["s","b",118]', '["s","c",100]', '["s","c",125]'].map((k) => s.getWindow(k)),
      closing: [...s.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100)],
    });
    expect(view(l.store)).toEqual({
      windows: [expect.objectContaining({ s: 100, e: 131, c: 136 }), undefined, expect.objectContaining({ s: 118, e: 128, c: 133 }), undefined, expect.objectContaining({ s: 125, e: 135, c: 140 })],
      closing: ['["s","b",118]', '["s","a",100]', '["s","c",125]'],
    });
    expect(view(replica)).toEqual(view(l.store));
  });
});
