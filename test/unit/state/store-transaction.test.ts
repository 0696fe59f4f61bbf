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

describe('StoreTransaction over a parent still committing', () => {
  it('reads the parent over the store, and the store again once detached', () => {
    seed((w) => {
      w.putDedupe('old', 1, null);
      w.putWindow('keep', stored(0), true);
      w.putWindow('gone', stored(0), true);
    });
    const parent = new StoreTransaction(store, times);
    parent.put('new', 5, undefined);
    parent.forget('old');
    parent.putWindow('born', state(10), true);
    parent.putWindow('keep', state(0, 2), false);
    parent.deleteWindow('gone');
    parent.markClosed('m', 40);
    const child = new StoreTransaction(store, times, parent);
    expect(child.get('new')).toBe(5);
    expect(child.get('old')).toBeUndefined();
    expect(child.getWindow('born')?.a).toEqual([1]);
    expect(child.getWindow('keep')?.a).toEqual([2]);
    expect(child.getWindow('gone')).toBeUndefined();
    expect(child.closedThrough('m')).toBe(40);
    // The parent lands; the child now reads LMDB, which holds the same.
    parent.commitLocal(undefined, meta);
    child.detachParent();
    expect(child.get('new')).toBe(5);
    expect(child.get('old')).toBeUndefined();
    expect(child.getWindow('born')?.a).toEqual([1]);
    expect(child.getWindow('gone')).toBeUndefined();
    expect(child.closedThrough('m')).toBe(40);
  });

  it('lists windows closing in the parent and the store, without the ones deleted in either', () => {
    seed((w) => {
      w.putWindow('stored', stored(0), true);
      w.putWindow('deleted-by-parent', stored(1), true);
      w.putWindow('deleted-by-child', stored(2), true);
    });
    const parent = new StoreTransaction(store, times);
    parent.putWindow('parent-born', state(3), true);
    parent.putWindow('parent-born-child-deletes', state(4), true);
    parent.deleteWindow('deleted-by-parent');
    const child = new StoreTransaction(store, times, parent);
    child.putWindow('child-born', state(5), true);
    child.deleteWindow('deleted-by-child');
    child.deleteWindow('parent-born-child-deletes');
    expect(child.windowsClosingBy(1000).sort()).toEqual(['child-born', 'parent-born', 'stored']);
  });

  it('a window the parent created and the child closes is deleted from LMDB once both land', () => {
    const parent = new StoreTransaction(store, times);
    parent.putWindow('w1', state(0), true);
    const child = new StoreTransaction(store, times, parent);
    child.deleteWindow('w1');
    parent.commitLocal(undefined, meta);
    child.detachParent();
    child.commitLocal(undefined, { ...meta, inputOffset: '11' });
    expect(store.getWindow('w1')).toBeUndefined();
    expect([...store.windowsClosingBy(1000, 10)]).toEqual([]);
  });

  it('does not forget an id the parent re-sighted or forgot already', () => {
    seed((w) => {
      w.putDedupe('a', 1, null);
      w.putDedupe('b', 2, null);
      w.putDedupe('c', 3, null);
    });
    const parent = new StoreTransaction(store, times);
    parent.put('a', 900, 1);
    parent.forget('b');
    const child = new StoreTransaction(store, times, parent);
    expect(child.idsForgettableBy(5000, 10)).toEqual(['c']);
  });

  it('the child reports only the windows touched since its chunk began', () => {
    const tx = new StoreTransaction(store, times);
    tx.putWindow('x', state(0), true);
    tx.startChunk();
    tx.putWindow('y', state(0), true);
    expect([...tx.touchedWindows]).toEqual(['y']);
  });
});

describe('StoreTransaction isolation from its parent', () => {
  it('a window read through the parent is a copy: mutating it in place leaves what the parent commits alone', () => {
    const parent = new StoreTransaction(store, times);
    const avg: WindowState = { w: 'w', g: ['a'], s: 0, a: [1, [10, 1]] };
    parent.putWindow('k', avg, true);
    const child = new StoreTransaction(store, times, parent);
    const seen = child.getWindow('k')!;
    seen.a[0] = 2;
    (seen.a[1] as number[])[0] = 30;
    child.putWindow('k', seen, false);
    parent.commitLocal(undefined, meta);
    expect(store.getWindow('k')?.a).toEqual([1, [10, 1]]);
    expect(child.getWindow('k')?.a).toEqual([2, [30, 1]]);
  });
});

describe('StoreTransaction windowsClosingBy lists each window once', () => {
  it('a stored window deleted and created again above the store', () => {
    seed((w) => w.putWindow('k', stored(0), true));
    const parent = new StoreTransaction(store, times);
    parent.deleteWindow('k');
    parent.putWindow('k', state(0), true);
    const child = new StoreTransaction(store, times, parent);
    expect(child.windowsClosingBy(1000)).toEqual(['k']);
    const alone = new StoreTransaction(store, times);
    alone.deleteWindow('k');
    alone.putWindow('k', state(0), true);
    expect(alone.windowsClosingBy(1000)).toEqual(['k']);
  });
});
