import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { StoreTimes } from '../../../src/state/partition-store.ts';
import type { WindowState } from '../../../src/model/window-state.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';

const times: StoreTimes = {
  windowCloseAt: (s) => s.s + 100,
  dedupeForgetAt: (t0) => t0 + 1000,
};

const state = (s: number, n = 1): WindowState => ({ w: 'w', g: ['a'], s, a: [n] });
/** a window as the store holds it: with the close time it was created with */
const stored = (s: number, n = 1): WindowState => ({ ...state(s, n), c: s + 100 });

let dir: string;
let store: PartitionStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-tx-'));
  store = new PartitionStore(join(dir, 'p0.mdb'), times);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function seed(fn: Parameters<PartitionStore['write']>[0]): void {
  store.write(fn);
}

const meta = { inputOffset: '10', changelogNext: undefined, streamTime: 500 };

describe('StoreTransaction reads and writes', () => {
  it('reads see its own writes and fall through to the store otherwise', () => {
    seed((w) => {
      w.putDedupe('old', 1);
      w.putDedupe('gone', 2);
      w.putWindow('kept', state(0, 7));
      w.putWindow('closed', state(10, 8));
    });
    const tx = new StoreTransaction(store, times);
    tx.put('new', 3, tx.get('new'));
    tx.put('old', 4, tx.get('old'));
    tx.forget('gone');
    tx.putWindow('fresh', state(20), true);
    tx.deleteWindow('closed');

    expect(tx.get('old')).toBe(4);
    expect(tx.get('new')).toBe(3);
    // A forgotten id must not fall through to the committed value.
    expect(tx.get('gone')).toBeUndefined();
    expect(tx.get('absent')).toBeUndefined();
    expect(tx.getWindow('kept')).toEqual(stored(0, 7));
    expect(tx.getWindow('fresh')).toEqual(stored(20));
    expect(tx.getWindow('closed')).toBeUndefined();
  });

  it('nothing reaches LMDB before commitLocal, everything does after', () => {
    seed((w) => {
      w.putDedupe('gone', 2);
      w.putWindow('closed', state(10));
      w.setMeta({ inputOffset: '3', streamTime: 100 });
    });
    const tx = new StoreTransaction(store, times);
    tx.put('new', 3, tx.get('new'));
    tx.forget('gone');
    tx.putWindow('fresh', state(20), true);
    tx.deleteWindow('closed');

    expect(store.getDedupe('new')).toBeUndefined();
    expect(store.getDedupe('gone')).toBe(2);
    expect(store.getWindow('fresh')).toBeUndefined();
    expect(store.getWindow('closed')).toEqual(stored(10));
    expect(store.meta()).toMatchObject({ inputOffset: '3', streamTime: 100 });

    const before = Date.now();
    tx.commitLocal(undefined, meta);
    expect(store.getDedupe('new')).toBe(3);
    expect(store.getDedupe('gone')).toBeUndefined();
    expect(store.getWindow('fresh')).toEqual(stored(20));
    expect(store.getWindow('closed')).toBeUndefined();
    const m = store.meta();
    expect(m).toMatchObject({ inputOffset: '10', streamTime: 500, changelogNext: undefined });
    expect(m.syncedAtMs).toBeGreaterThanOrEqual(before);
  });

  it('the window state object may be mutated in place after putWindow; the last value commits', () => {
    const tx = new StoreTransaction(store, times);
    const s = state(0, 1);
    tx.putWindow('k', s, true);
    s.a[0] = 5;
    tx.putWindow('k', s, false);
    tx.commitLocal(undefined, meta);
    expect(store.getWindow('k')).toEqual(stored(0, 5));
  });
});

describe('StoreTransaction changelog records', () => {
  it('one record per changed key, tombstones for deletes, none for a window born and closed here', () => {
    seed((w) => {
      w.putDedupe('gone', 2);
      w.putWindow('closed', state(10));
      w.putWindow('kept', state(0, 1));
    });
    const tx = new StoreTransaction(store, times);
    tx.put('new', 3, tx.get('new'));
    tx.put('new', 4, tx.get('new'));
    tx.forget('gone');
    tx.putWindow('kept', state(0, 2), false);
    tx.putWindow('kept', state(0, 3), false);
    tx.deleteWindow('closed');
    tx.putWindow('ephemeral', state(30), true);
    tx.deleteWindow('ephemeral');

    const records = tx.changelogRecords();
    expect(records).toHaveLength(4);
    expect(new Map(records.map((r) => [r.key, r.value]))).toEqual(
      new Map<string, string | null>([
        ['d|new', '4'],
        ['d|gone', null],
        ['w|kept', JSON.stringify(stored(0, 3))],
        ['w|closed', null],
      ]),
    );
    expect(tx.touchedWindows).toEqual(new Set(['kept']));
  });

  it('a committed window deleted, re-created and closed again in one transaction stays deleted', () => {
    seed((w) => w.putWindow('w|a|0', state(0)));
    const tx = new StoreTransaction(store, times);
    tx.deleteWindow('w|a|0');
    tx.putWindow('w|a|0', state(0, 5), true);
    tx.deleteWindow('w|a|0');
    expect(tx.changelogRecords()).toEqual([{ key: 'w|w|a|0', value: null }]);
    tx.commitLocal(undefined, meta);
    expect(store.getWindow('w|a|0')).toBeUndefined();
  });

  it('an untouched transaction writes no changelog records', () => {
    expect(new StoreTransaction(store, times).changelogRecords()).toEqual([]);
  });
});

describe('StoreTransaction close and forget queries', () => {
  it('windowsClosingBy includes windows created here and excludes ones deleted here', () => {
    seed((w) => {
      w.putWindow('s0', state(0));
      w.putWindow('s50', state(50));
      w.putWindow('s500', state(500));
    });
    const tx = new StoreTransaction(store, times);
    tx.putWindow('t20', state(20), true);
    tx.putWindow('t900', state(900), true);
    tx.putWindow('s0', state(0, 2), false);
    tx.deleteWindow('s50');

    expect(new Set(tx.windowsClosingBy(200))).toEqual(new Set(['s0', 't20']));
    expect(new Set(tx.windowsClosingBy(Number.MAX_SAFE_INTEGER))).toEqual(new Set(['s0', 's500', 't20', 't900']));
    expect(tx.windowsClosingBy(99)).toEqual([]);
  });

  it('a window created here and then closed here is no longer listed', () => {
    const tx = new StoreTransaction(store, times);
    tx.putWindow('t', state(0), true);
    tx.deleteWindow('t');
    expect(tx.windowsClosingBy(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('idsForgettableBy skips ids re-put or already forgotten in this transaction', () => {
    seed((w) => {
      w.putDedupe('a', 0);
      w.putDedupe('b', 1);
      w.putDedupe('c', 2);
      w.putDedupe('late', 5000);
    });
    const tx = new StoreTransaction(store, times);
    tx.put('b', 1500, tx.get('b'));
    tx.forget('c');
    expect(tx.idsForgettableBy(1002, 100)).toEqual(['a']);
    expect(tx.idsForgettableBy(1001, 100)).toEqual(['a']);
    expect(tx.idsForgettableBy(999, 100)).toEqual([]);

    for (const id of tx.idsForgettableBy(2000, 100)) tx.forget(id);
    tx.commitLocal(undefined, meta);
    expect(store.getDedupe('a')).toBeUndefined();
    expect(store.getDedupe('b')).toBe(1500);
    expect(store.getDedupe('c')).toBeUndefined();
    expect(store.getDedupe('late')).toBe(5000);
    expect([...store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 100)]).toEqual(['b', 'late']);
  });

  it('keeps the forget index exact when an id is put twice in one transaction', () => {
    seed((w) => w.putDedupe('b', 1));
    const tx = new StoreTransaction(store, times);
    tx.put('b', 1500, tx.get('b'));
    tx.put('b', 1600, tx.get('b'));
    tx.put('n', 10, tx.get('n'));
    tx.put('n', 1700, tx.get('n'));
    tx.commitLocal(undefined, meta);
    expect([...store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 100)]).toEqual(['b', 'n']);
    expect([...store.idsForgettableBy(2600, 100)]).toEqual(['b']);
  });
});
