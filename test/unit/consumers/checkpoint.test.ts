import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../../src/consumers/checkpoint.ts';
import type { InputPosition, LaneSink } from '../../../src/clients/port.ts';
import type { OutRecord } from '../../../src/model/records.ts';
import { parseMeta } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { StoreTimes } from '../../../src/state/partition-store.ts';
import type { StoreMeta } from '../../../src/state/store-writer.ts';
import type { WindowState } from '../../../src/model/window-state.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';

const times: StoreTimes = {
  windowCloseAt: (s) => s.s + 100,
  dedupeForgetAt: (t0) => t0 + 1000,
};
const TOPICS = { input: 'events', changelog: 'app-changelog' };
const PARTITION = 3;
const state = (s: number, n = 1): WindowState => ({ w: 'w', g: ['a'], s, a: [n] });
/** a window as the store holds it: with the close time it was created with */
const stored = (s: number, n = 1): WindowState => ({ ...state(s, n), c: s + 100 });

type Seen = { meta: StoreMeta; window: WindowState | undefined };
type Call = { records: OutRecord[]; position: InputPosition; changelogTopic: string; atCall: Seen; beforeResolve?: Seen };

/** Records every commit call together with what LMDB held at that moment. */
class FakeSink implements LaneSink {
  readonly calls: Call[] = [];
  private readonly store: PartitionStore;
  private readonly outcome: () => Promise<string | undefined>;

  constructor(store: PartitionStore, outcome: () => Promise<string | undefined>) {
    this.store = store;
    this.outcome = outcome;
  }

  private seen(): Seen {
    return { meta: this.store.meta(), window: this.store.getWindow('new') };
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async commit(outputs: readonly OutRecord[], changelog: readonly OutRecord[], position: InputPosition): Promise<string | undefined> {
    const call: Call = { records: [...outputs, ...changelog], position, changelogTopic: changelog[0]!.topic, atCall: this.seen() };
    this.calls.push(call);
    // Looks again after yielding: a caller that wrote LMDB without awaiting the commit shows up here.
    await new Promise((r) => setTimeout(r, 1));
    call.beforeResolve = this.seen();
    return this.outcome();
  }
}

let dir: string;
let store: PartitionStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-checkpoint-'));
  store = new PartitionStore(join(dir, 'p3.mdb'), times);
  store.write((w) => {
    w.putWindow('old', state(0));
    w.putDedupe('seen', 1);
    w.setMeta({ inputOffset: '10', changelogNext: '40', streamTime: 50, syncedAtMs: 1 });
  });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function batch(): { tx: StoreTransaction; outputs: OutRecord[] } {
  const tx = new StoreTransaction(store, times);
  tx.put('fresh', 60, tx.get('fresh'));
  tx.putWindow('new', state(60), true);
  tx.deleteWindow('old');
  const outputs: OutRecord[] = [
    { topic: 'out', key: 'old', value: '{"final":true}' },
    { topic: 'dlq', key: null, value: 'bad', headers: { 'sluice.reason': 'invalid-json' } },
  ];
  return { tx, outputs };
}

describe('Checkpoint.commit', () => {
  it('sends outputs, then changelog records, then the meta record last, in one sink commit', async () => {
    const sink = new FakeSink(store, async () => '47');
    const { tx, outputs } = batch();
    const expectedOutputs = [...outputs];
    const next = await new Checkpoint(sink, TOPICS, PARTITION, 'h').commit({ tx, outputs, nextOffset: '15', streamTime: 60, changelogNext: '40' });

    expect(next).toBe('47');
    expect(sink.calls).toHaveLength(1);
    const call = sink.calls[0]!;
    expect(call.position).toEqual({ topic: TOPICS.input, partition: PARTITION, nextOffset: '15' });
    expect(call.changelogTopic).toBe(TOPICS.changelog);

    const recs = call.records;
    expect(recs.slice(0, 2)).toEqual(expectedOutputs);
    const changelog = recs.slice(2);
    for (const r of changelog) expect(r).toMatchObject({ topic: TOPICS.changelog, partition: PARTITION });
    expect(changelog.slice(0, -1).map((r) => [r.key, r.value])).toEqual(tx.changelogRecords().map((r) => [r.key, r.value]));
    expect(new Set(changelog.slice(0, -1).map((r) => r.key))).toEqual(new Set(['d|fresh', 'w|new', 'w|old']));
    const meta = changelog.at(-1)!;
    expect(meta.key).toBe('m');
    expect(parseMeta(meta.value as string)).toEqual({ inputOffset: '15', streamTime: 60, history: 'h' });
  });

  it('updates LMDB only after the sink commit resolved, with the new offset and changelog position', async () => {
    const sink = new FakeSink(store, async () => '47');
    const { tx, outputs } = batch();
    await new Checkpoint(sink, TOPICS, PARTITION, 'h').commit({ tx, outputs, nextOffset: '15', streamTime: 60, changelogNext: '40' });

    const call = sink.calls[0]!;
    const untouched = { meta: { inputOffset: '10', changelogNext: '40', streamTime: 50, syncedAtMs: 1 }, window: undefined };
    expect(call.atCall).toEqual(untouched);
    expect(call.beforeResolve).toEqual(untouched);
    expect(store.meta()).toMatchObject({ inputOffset: '15', changelogNext: '47', streamTime: 60 });
    expect(store.getWindow('new')).toEqual(stored(60));
    expect(store.getWindow('old')).toBeUndefined();
    expect(store.getDedupe('fresh')).toBe(60);
  });

  it('keeps the previous changelog position when the sink wrote no changelog', async () => {
    const sink = new FakeSink(store, async () => undefined);
    const tx = new StoreTransaction(store, times);
    const next = await new Checkpoint(sink, TOPICS, PARTITION, 'h').commit({ tx, outputs: [], nextOffset: '11', streamTime: 50, changelogNext: '40' });
    expect(next).toBe('40');
    expect(sink.calls[0]!.records.map((r) => r.key)).toEqual(['m']);
    expect(store.meta()).toMatchObject({ inputOffset: '11', changelogNext: '40' });
  });

  it('a rejected sink commit propagates and leaves LMDB untouched', async () => {
    const failure = new Error('transaction aborted');
    const sink = new FakeSink(store, () => Promise.reject(failure));
    const { tx, outputs } = batch();
    const before = store.meta();
    await expect(new Checkpoint(sink, TOPICS, PARTITION, 'h').commit({ tx, outputs, nextOffset: '15', streamTime: 60, changelogNext: '40' })).rejects.toBe(failure);

    expect(store.meta()).toEqual(before);
    expect(store.getWindow('new')).toBeUndefined();
    expect(store.getWindow('old')).toEqual(stored(0));
    expect(store.getDedupe('fresh')).toBeUndefined();
    expect(store.getDedupe('seen')).toBe(1);
  });

  it('a sink that throws synchronously also leaves LMDB untouched', async () => {
    const sink = new FakeSink(store, async () => '47');
    sink.commit = () => {
      throw new Error('not connected');
    };
    const { tx, outputs } = batch();
    await expect(new Checkpoint(sink, TOPICS, PARTITION, 'h').commit({ tx, outputs, nextOffset: '15', streamTime: 60, changelogNext: '40' })).rejects.toThrow('not connected');
    expect(store.meta().inputOffset).toBe('10');
    expect(store.getWindow('new')).toBeUndefined();
  });
});

describe('Checkpoint with two owners of one store', () => {
  it("refuses an old owner's late local commit once the new owner has moved the store on", async () => {
    // The old owner's Kafka commit is held until the new owner has replayed it and committed the next batch.
    let releaseOld!: () => void;
    const oldCommitted = new Promise<void>((r) => (releaseOld = r));
    const oldSink = new FakeSink(store, async () => {
      await oldCommitted;
      return '50';
    });
    const oldTx = new StoreTransaction(store, times);
    oldTx.putWindow('new', state(60, 1), true);
    const oldCommit = new Checkpoint(oldSink, TOPICS, PARTITION, 'h').commit({ tx: oldTx, outputs: [], nextOffset: '15', streamTime: 60, changelogNext: '40' });
    await new Promise((r) => setTimeout(r, 5));

    // The new owner, on its own handle: replays T_k from the changelog, then commits T_k+1.
    const newStore = new PartitionStore(join(dir, 'p3.mdb'), times);
    try {
      newStore.write((w) => {
        w.putWindow('new', state(60, 1));
        w.setMeta({ inputOffset: '15', changelogNext: '50', streamTime: 60 });
      });
      const newTx = new StoreTransaction(newStore, times);
      const current = newTx.getWindow('new')!;
      newTx.putWindow('new', { ...current, a: [2] }, false);
      const newSink = new FakeSink(newStore, async () => '60');
      await new Checkpoint(newSink, TOPICS, PARTITION, 'h').commit({ tx: newTx, outputs: [], nextOffset: '20', streamTime: 70, changelogNext: '50' });

      releaseOld();
      await expect(oldCommit).rejects.toMatchObject({ name: 'TaskMigratedError', code: 'SLUICE_TASK_MIGRATED', partition: PARTITION });
      // The new owner's values, not the old owner's roll-back.
      expect(store.getWindow('new')).toEqual(stored(60, 2));
      expect(store.meta()).toMatchObject({ inputOffset: '20', changelogNext: '60', streamTime: 70 });
    } finally {
      await newStore.close();
    }
  });
});
