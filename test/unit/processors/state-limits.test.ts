// States that grow with their events stay within their limits (docs/output.md, "State limits"):
// an event that would take a topK past them is a `state-limit` dead letter and counts nowhere,
// while the members it holds go on updating; and a dense countDistinct survives LMDB (where it
// is binary) and the changelog (where it is JSON) as the same sketch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storeTimes } from '../../../src/consumers/lane.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import type { InputRecord, OutRecord } from '../../../src/model/records.ts';
import type { AggregateSpec, PipelineSpec } from '../../../src/processors/types.ts';
import type { WindowState } from '../../../src/model/window-state.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const MIN = 60_000;
const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };

function spec(global: AggregateSpec[]): PipelineSpec {
  return {
    keyField: 'k',
    idField: 'id',
    dedupeTtlMs: 10 * MIN,
    eventTimeField: 't',
    maxRecordBytes: 1 << 20,
    windows: [
      { name: 'per_k', groupBy: ['k'], kind: 'tumbling', sizeMs: MIN, advanceMs: MIN, graceMs: 0, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }] },
      { name: 'global', groupBy: [], kind: 'tumbling', sizeMs: MIN, advanceMs: MIN, graceMs: 0, emit: 'final', aggregates: global },
    ],
  };
}

const topK = (name: string, maxMembers: number): AggregateSpec => ({ name, fn: 'topK', field: 'p', k: 2, by: { fn: 'count', field: undefined }, maxMembers });

let offset = 0;
const ev = (id: string, p: string, t: number): InputRecord => ({ offset: String(offset++), key: Buffer.from('a'), value: Buffer.from(JSON.stringify({ id, k: 'a', p, t })), timestamp: '0' });

type Final = { window: string; values: Record<string, unknown> };

function outputs(records: readonly OutRecord[]) {
  const finals = records.filter((r) => r.topic === TOPICS.output).map((r) => JSON.parse(String(r.value)) as Final);
  const dead = records.filter((r) => r.topic === TOPICS.deadLetter).map((r) => ({ offset: String(r.headers![DLQ_HEADER.offset]), reason: String(r.headers![DLQ_HEADER.reason]), field: String(r.headers![DLQ_HEADER.field]), detail: String(r.headers![DLQ_HEADER.detail]) }));
  return { finals, dead };
}

describe('topK state limits', () => {
  it('refuses an event that would add a member beyond maxMembers, in every window; held members go on counting', () => {
    const s = spec([topK('busiest', 3), { name: 'players', fn: 'countDistinct', field: 'p' }]);
    const store = new MemoryStore(s);
    const processor = new BatchProcessor(s, TOPICS, 0);
    offset = 0;
    const first = processor.process([ev('1', 'a', 1000), ev('2', 'b', 2000), ev('3', 'c', 3000), ev('4', 'a', 4000), ev('5', 'd', 59_000), ev('6', 'a', 6000)], store.nextBatch(), Number.NEGATIVE_INFINITY);
    // The refused event moved no stream time.
    expect(first.streamTime).toBe(6000);
    expect(outputs(first.records).dead).toEqual([
      { offset: '4', reason: 'state-limit', field: 'p', detail: 'window global starting 0: busiest: already holds 3 members, its maxMembers (3); "d" would be a new one' },
    ]);
    expect(first.stats.deadLetters).toEqual(new Map([['state-limit', 1]]));
    // A refused id is not recorded: its retry, for a member the window holds, counts.
    const second = processor.process([ev('5', 'b', 7000), ev('8', 'z', 2 * MIN)], store.nextBatch(), first.streamTime);
    const { finals, dead } = outputs(second.records);
    expect(dead.map((d) => d.offset)).toEqual([]);
    expect(finals.find((f) => f.window === 'per_k')!.values).toEqual({ n: 6 });
    expect(finals.find((f) => f.window === 'global')!.values).toEqual({ busiest: [{ member: 'a', value: 3 }, { member: 'b', value: 2 }], players: 3 });
  });
});

describe('topK state limits, in bytes', () => {
  it("shares the window's byte budget among its topKs: long members are refused before maxMembers", () => {
    const s = spec([topK('first', 100), topK('second', 100)]);
    const processor = new BatchProcessor(s, TOPICS, 0);
    const store = new MemoryStore(s);
    const long = (c: string): string => c.repeat(100_000);
    offset = 0;
    const result = processor.process([ev('1', long('a'), 1000), ev('2', long('b'), 2000), ev('3', long('c'), 3000), ev('4', long('a'), 4000)], store.nextBatch(), Number.NEGATIVE_INFINITY);
    const { dead } = outputs(result.records);
    expect(dead.map((d) => [d.offset, d.reason, d.field])).toEqual([['2', 'state-limit', 'p']]);
    expect(dead[0]!.detail).toMatch(/^window global starting 0: first: would hold about 300\d{3} bytes of members and values with "c{400}/);
    // The detail is cut at 500 characters (dead-letter.ts), the limit is in what precedes the member.
    expect(dead[0]!.detail.length).toBeLessThanOrEqual(501);
    const state = [...store.windows.values()].find((w) => w.w === 'global')!;
    // What the changelog would write: under the broker's 1 MB, with room to spare.
    expect(Buffer.byteLength(JSON.stringify(state))).toBeLessThan(600_000);
  });
});

describe('countDistinct in a store', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps dense registers as bytes in LMDB and as the string form in the changelog, counting on across batches', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-hll-'));
    const s = spec([{ name: 'players', fn: 'countDistinct', field: 'p' }]);
    const store = new PartitionStore(join(dir, 'p0.mdb'), storeTimes(s));
    const processor = new BatchProcessor(s, TOPICS, 0);
    let streamTime = Number.NEGATIVE_INFINITY;
    offset = 0;
    const changelog: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const tx = new StoreTransaction(store, storeTimes(s));
      const records = Array.from({ length: 2000 }, (_, i) => ev(`${batch}-${i}`, `p${batch * 2000 + i}`, 1000 + batch));
      streamTime = processor.process(records, tx, streamTime).streamTime;
      for (const r of tx.changelogRecords()) if (r.value !== null && r.key.includes('"global"')) changelog.push(r.value);
      tx.commitLocal(undefined, { inputOffset: String(offset), changelogNext: undefined, streamTime });
      const stored = [...store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 10)].map((k) => store.getWindow(k)!).find((w) => w.w === 'global')!;
      expect(stored.a[0]).toBeInstanceOf(Uint8Array);
      expect((stored.a[0] as Uint8Array).length).toBe(16_384);
    }
    const last = JSON.parse(changelog.at(-1)!) as WindowState;
    expect(typeof last.a[0]).toBe('string');
    expect((last.a[0] as string).length).toBe(16_384);
    const tx = new StoreTransaction(store, storeTimes(s));
    const closing = processor.process([ev('x', 'p0', 5 * MIN)], tx, streamTime);
    const players = outputs(closing.records).finals.find((f) => f.window === 'global')!.values.players as number;
    expect(Math.abs(players - 6000) / 6000).toBeLessThan(0.02);
    await store.close();
  });
});
