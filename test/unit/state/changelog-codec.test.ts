import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChangelogRecord, changelogRecordsFor, META_KEY, metaRecord, parseMeta } from '../../../src/state/changelog-codec.ts';
import type { ChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { StoreTimes } from '../../../src/state/partition-store.ts';
import type { WindowState } from '../../../src/model/window-state.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';

const times: StoreTimes = {
  windowCloseAt: (s) => s.s + 100,
  dedupeForgetAt: (t0) => t0 + 1000,
};

const IDS = ['a', 'b', 'c', '0', 'é'];
const WINDOWS = ['w|x|0', 'w|x|60', 'w|y|0', 'v|1|120'];
// The key fixes the window start, as it does in production (the start is part of the key).
const windowState = (key: string, n: number): WindowState => ({ w: 'w', g: [key, 1, true], s: WINDOWS.indexOf(key) * 10, a: [n, null, [n * 1.5, n]] });

let dir: string;
let source: PartitionStore;
let replica: PartitionStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-codec-'));
  source = new PartitionStore(join(dir, 'source.mdb'), times);
  replica = new PartitionStore(join(dir, 'replica.mdb'), times);
});

afterEach(async () => {
  await source.close();
  await replica.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything observable about a store, for the keys a test may have touched. */
function snapshot(store: PartitionStore) {
  const meta = store.meta();
  return {
    dedupe: IDS.map((id) => [id, store.getDedupe(id)]),
    windows: WINDOWS.map((k) => [k, store.getWindow(k)]),
    closeIndex: [...store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 1000)],
    forgetIndex: [...store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 1000)],
    retained: [...store.retainedWithPrefix('')],
    expiryIndex: [...store.retainedExpiringBy(Number.MAX_SAFE_INTEGER, 1000)],
    inputOffset: meta.inputOffset,
    streamTime: meta.streamTime,
  };
}

function replay(store: PartitionStore, records: readonly ChangelogRecord[]): void {
  store.write((w) => {
    for (const r of records) applyChangelogRecord(w, r.key, r.value);
  });
}

/** `retain`: [window key, until] of finals retained; `expireAt`: drop those kept until then or earlier */
type Batch = { puts: [string, number][]; windows: [string, number][]; deletes: string[]; forgets: string[]; retain: [string, number][]; expireAt: number | null; streamTime: number | null };

const batchArb: fc.Arbitrary<Batch> = fc.record({
  puts: fc.array(fc.tuple(fc.constantFrom(...IDS), fc.integer({ min: 0, max: 5000 })), { maxLength: 6 }),
  windows: fc.array(fc.tuple(fc.constantFrom(...WINDOWS), fc.integer({ min: 1, max: 100 })), { maxLength: 6 }),
  deletes: fc.uniqueArray(fc.constantFrom(...WINDOWS)),
  forgets: fc.uniqueArray(fc.constantFrom(...IDS)),
  retain: fc.array(fc.tuple(fc.constantFrom(...WINDOWS), fc.integer({ min: 0, max: 1000 })), { maxLength: 4 }),
  expireAt: fc.option(fc.integer({ min: 0, max: 1000 })),
  streamTime: fc.option(fc.integer({ min: 0, max: 10_000 })),
});

/** Runs batches through transactions in the order BatchProcessor uses: aggregate, close, forget. */
function runBatches(batches: readonly Batch[]): ChangelogRecord[] {
  const log: ChangelogRecord[] = [];
  batches.forEach((b, i) => {
    const tx = new StoreTransaction(source, times);
    for (const [id, t0] of b.puts) tx.put(id, t0, tx.get(id));
    for (const [key, n] of b.windows) tx.putWindow(key, windowState(key, n), tx.getWindow(key) === undefined);
    for (const key of b.deletes) if (tx.getWindow(key) !== undefined) tx.deleteWindow(key);
    for (const id of b.forgets) if (!b.puts.some(([p]) => p === id)) tx.forget(id);
    for (const [key, until] of b.retain) tx.retainFinal(key, until % 2 === 0 ? { state: windowState(key, until), until } : { state: windowState(key, until), until, closedBy: 'idle' });
    if (b.expireAt !== null) for (const key of tx.retainedExpiringBy(b.expireAt, 1000)) tx.dropRetained(key);
    const streamTime = b.streamTime ?? Number.NEGATIVE_INFINITY;
    log.push(...tx.changelogRecords(), metaRecord({ inputOffset: String(i + 1), streamTime }));
    tx.commitLocal(undefined, { inputOffset: String(i + 1), changelogNext: undefined, streamTime });
  });
  return log;
}

describe('changelog round trip', () => {
  it('replaying a transaction history into an empty store reproduces the source store', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 6 }), (batches) => {
        source.wipe();
        replica.wipe();
        const log = runBatches(batches);
        replay(replica, log);
        expect(snapshot(replica)).toEqual(snapshot(source));
      }),
      { numRuns: 60 },
    );
  });

  it('replaying again from any earlier record changes nothing (values are absolute)', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 5 }), fc.nat(), (batches, from) => {
        source.wipe();
        replica.wipe();
        const log = runBatches(batches);
        replay(replica, log);
        replay(replica, log.slice(from % log.length));
        expect(snapshot(replica)).toEqual(snapshot(source));
      }),
      { numRuns: 40 },
    );
  });

  it('changelogRecordsFor encodes dedupe as the t0 string and windows as JSON, null for deletes', () => {
    const records = changelogRecordsFor(
      new Map([['a', 12], ['b', null]]),
      new Map<string, WindowState | null>([['k', windowState('w|x|0', 2)], ['gone', null]]),
    );
    expect(records).toEqual([
      { key: 'd|a', value: '12' },
      { key: 'd|b', value: null },
      { key: 'w|k', value: JSON.stringify(windowState('w|x|0', 2)) },
      { key: 'w|gone', value: null },
    ]);
  });
});

describe('changelog meta record', () => {
  it('-Infinity stream time round-trips through JSON null', () => {
    const rec = metaRecord({ inputOffset: '0', streamTime: Number.NEGATIVE_INFINITY });
    expect(rec.key).toBe(META_KEY);
    expect(JSON.parse(rec.value!)).toEqual({ inputOffset: '0', streamTime: null });
    expect(parseMeta(rec.value!)).toEqual({ inputOffset: '0', streamTime: Number.NEGATIVE_INFINITY });

    replica.write((w) => w.setMeta({ streamTime: 99, inputOffset: '7' }));
    let applied: ReturnType<typeof applyChangelogRecord>;
    replica.write((w) => (applied = applyChangelogRecord(w, rec.key, rec.value)));
    expect(applied).toEqual({ inputOffset: '0', streamTime: Number.NEGATIVE_INFINITY });
    expect(replica.meta()).toMatchObject({ inputOffset: '0', streamTime: Number.NEGATIVE_INFINITY });
  });

  it('a finite stream time round-trips, and a meta tombstone is ignored', () => {
    const rec = metaRecord({ inputOffset: '123', streamTime: 1_700_000_000_123 });
    replica.write((w) => applyChangelogRecord(w, rec.key, rec.value));
    expect(replica.meta()).toMatchObject({ inputOffset: '123', streamTime: 1_700_000_000_123 });
    replica.write((w) => expect(applyChangelogRecord(w, META_KEY, null)).toBeUndefined());
    expect(replica.meta()).toMatchObject({ inputOffset: '123', streamTime: 1_700_000_000_123 });
  });

  it('data records return no meta', () => {
    replica.write((w) => expect(applyChangelogRecord(w, 'd|a', '5')).toBeUndefined());
    expect(replica.getDedupe('a')).toBe(5);
  });
});

describe('changelog unknown keys', () => {
  it.each(['z|a', '', 'd', 'mm', 'W|k'])('throws on key %j and applies nothing of its transaction', (key) => {
    expect(() =>
      replica.write((w) => {
        applyChangelogRecord(w, 'd|a', '5');
        applyChangelogRecord(w, key, 'v');
      }),
    ).toThrow(/unknown changelog key/);
    expect(replica.getDedupe('a')).toBeUndefined();
  });
});

describe('merge-lane watermarks in the changelog', () => {
  it('round-trips per-source watermarks through x| records', () => {
    const records = changelogRecordsFor(new Map(), new Map(), new Map([[0, 1000], [3, -5]]));
    expect(records).toEqual([
      { key: 'x|0', value: '1000' },
      { key: 'x|3', value: '-5' },
    ]);
  });
});
