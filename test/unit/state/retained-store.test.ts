// Closed windows' finals kept for queries (http.queryRetention): the two LMDB databases a
// PartitionStore keeps them in, and how a StoreTransaction overlays them until commitLocal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RetainedFinal, WindowState } from '../../../src/model/window-state.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { StoreTimes } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';

const times: StoreTimes = { windowCloseAt: (s) => s.s + 100, dedupeForgetAt: (t0) => t0 + 1000 };

const state = (g: string, s: number, n = 1): WindowState => ({ w: 'w', g: [g], s, a: [n] });
const key = (g: string, s: number): string => `["w","${g}",${s}]`;
const final = (g: string, s: number, until: number, closedBy?: 'idle'): RetainedFinal => (closedBy === undefined ? { state: state(g, s), until } : { state: state(g, s), until, closedBy });

let dir: string;
let store: PartitionStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-retained-'));
  store = new PartitionStore(join(dir, 'p0.mdb'), times);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const entries = (name: string): number => store.stats().stores.find((s) => s.store === name)!.entries;
const meta = { inputOffset: '1', changelogNext: undefined, streamTime: 0 };

describe('PartitionStore retained finals', () => {
  it('lists them by window key prefix, expired ones included, and by expiry time, soonest first, up to a limit', () => {
    store.write((w) => {
      w.putRetained(key('a', 0), { s: state('a', 0), u: 300 });
      w.putRetained(key('a', 100), { s: state('a', 100), u: 100, i: 1 });
      w.putRetained(key('ab', 0), { s: state('ab', 0), u: 200 });
      w.putRetained(key('b', 0), { s: state('b', 0), u: 50 });
    });
    expect([...store.retainedWithPrefix('["w","a",')]).toEqual([
      [key('a', 0), final('a', 0, 300)],
      [key('a', 100), final('a', 100, 100, 'idle')],
    ]);
    expect([...store.retainedExpiringBy(200, 10)]).toEqual([key('b', 0), key('a', 100), key('ab', 0)]);
    expect([...store.retainedExpiringBy(199, 10)]).toEqual([key('b', 0), key('a', 100)]);
    expect([...store.retainedExpiringBy(1000, 2)]).toEqual([key('b', 0), key('a', 100)]);
    // Apart from the open windows.
    expect([...store.windowsWithPrefix('["w",')]).toEqual([]);
    expect([...store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 10)]).toEqual([]);
  });

  it('retaining a key again moves its expiry entry; deleting removes both entries', () => {
    store.write((w) => w.putRetained(key('a', 0), { s: state('a', 0), u: 100 }));
    store.write((w) => w.putRetained(key('a', 0), { s: state('a', 0), u: 500 }));
    expect([...store.retainedExpiringBy(499, 10)]).toEqual([]);
    expect([...store.retainedExpiringBy(500, 10)]).toEqual([key('a', 0)]);
    expect(entries('retained-expiry-index')).toBe(1);
    store.write((w) => {
      w.deleteRetained(key('a', 0));
      w.deleteRetained('never-retained');
    });
    expect([...store.retainedWithPrefix('')]).toEqual([]);
    expect(entries('retained')).toBe(0);
    expect(entries('retained-expiry-index')).toBe(0);
  });

  it('stats report both databases, and wipe empties them', () => {
    store.write((w) => {
      w.putRetained(key('a', 0), { s: state('a', 0), u: 100 });
      w.putRetained(key('b', 0), { s: state('b', 0), u: 100 });
    });
    expect(entries('retained')).toBe(2);
    expect(entries('retained-expiry-index')).toBe(2);
    expect(store.stats().stores.find((s) => s.store === 'retained')!.bytes).toBeGreaterThan(0);
    store.wipe();
    expect(entries('retained')).toBe(0);
    expect(entries('retained-expiry-index')).toBe(0);
    expect([...store.retainedExpiringBy(Number.MAX_SAFE_INTEGER, 10)]).toEqual([]);
  });
});

describe('StoreTransaction retained finals', () => {
  it('nothing reaches LMDB before commitLocal; then the retained and the dropped land with the batch', () => {
    store.write((w) => w.putRetained(key('old', 0), { s: state('old', 0), u: 100 }));
    const tx = new StoreTransaction(store, times);
    tx.retainFinal(key('a', 0), final('a', 0, 900, 'idle'));
    for (const k of tx.retainedExpiringBy(100, 10)) tx.dropRetained(k);
    expect(tx.size).toBe(2);
    expect([...store.retainedWithPrefix('')].map(([k]) => k)).toEqual([key('old', 0)]);
    tx.commitLocal(undefined, meta);
    expect([...store.retainedWithPrefix('')]).toEqual([[key('a', 0), final('a', 0, 900, 'idle')]]);
    expect(store.meta().inputOffset).toBe('1');
  });

  it('retainedExpiringBy skips keys this transaction retained again or dropped already', () => {
    store.write((w) => {
      w.putRetained(key('a', 0), { s: state('a', 0), u: 100 });
      w.putRetained(key('b', 0), { s: state('b', 0), u: 100 });
      w.putRetained(key('c', 0), { s: state('c', 0), u: 100 });
    });
    const tx = new StoreTransaction(store, times);
    tx.retainFinal(key('a', 0), final('a', 0, 5000));
    tx.dropRetained(key('b', 0));
    expect(tx.retainedExpiringBy(100, 10)).toEqual([key('c', 0)]);
  });

  it('writes them to the changelog as r|<window key>, tombstones for dropped ones, apart from w| records', () => {
    const tx = new StoreTransaction(store, times);
    tx.putWindow(key('a', 100), state('a', 100), true);
    tx.retainFinal(key('a', 0), final('a', 0, 900, 'idle'));
    tx.retainFinal(key('b', 0), final('b', 0, 800));
    tx.dropRetained(key('c', 0));
    expect(tx.changelogRecords()).toEqual([
      { key: `w|${key('a', 100)}`, value: JSON.stringify({ ...state('a', 100), c: 200 }) },
      { key: `r|${key('a', 0)}`, value: JSON.stringify({ s: state('a', 0), u: 900, i: 1 }) },
      { key: `r|${key('b', 0)}`, value: JSON.stringify({ s: state('b', 0), u: 800 }) },
      { key: `r|${key('c', 0)}`, value: null },
    ]);
  });
});
