import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import type { StoreTimes } from '../../../src/state/partition-store.ts';
import type { WindowState } from '../../../src/model/window-state.ts';

// Close times deliberately disagree with key order, so an index sorted by key would be caught.
const times: StoreTimes = {
  windowCloseAt: (s) => s.s + 100,
  dedupeForgetAt: (t0) => t0 + 1000,
};

const state = (s: number, n = 1): WindowState => ({ w: 'w', g: ['a'], s, a: [n] });
/** a window as the store holds it: with the close time it was created with */
const stored = (s: number, n = 1): WindowState => ({ ...state(s, n), c: s + 100 });

const dirs: string[] = [];
const open: PartitionStore[] = [];

function storeAt(path: string, bootId?: string | null): PartitionStore {
  const store = new PartitionStore(path, times, bootId);
  open.push(store);
  return store;
}

function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'partition-0.mdb');
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const all = (it: Iterable<string>): string[] => [...it];

describe('PartitionStore windows', () => {
  it('lists closing windows in close-time order, inclusive of the bound, honouring the limit', () => {
    const store = storeAt(freshPath());
    store.write((w) => {
      w.putWindow('z', state(0));
      w.putWindow('a', state(100));
      w.putWindow('m', state(50));
    });
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual(['z', 'm', 'a']);
    expect(all(store.windowsClosingBy(150, 100))).toEqual(['z', 'm']);
    expect(all(store.windowsClosingBy(149, 100))).toEqual(['z']);
    expect(all(store.windowsClosingBy(99, 100))).toEqual([]);
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 2))).toEqual(['z', 'm']);
    expect(store.countWindows()).toBe(3);
  });

  it('re-putting a window updates its value without a second index entry', () => {
    const store = storeAt(freshPath());
    store.write((w) => w.putWindow('k', state(0, 1)));
    store.write((w) => w.putWindow('k', state(0, 2)));
    expect(store.getWindow('k')).toEqual(stored(0, 2));
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual(['k']);
  });

  it('deletes drop the window and its index entry; deleting an absent key is a no-op', () => {
    const store = storeAt(freshPath());
    store.write((w) => {
      w.putWindow('a', state(0));
      w.putWindow('b', state(10));
    });
    store.write((w) => {
      w.deleteWindow('a');
      w.deleteWindow('never');
    });
    expect(store.getWindow('a')).toBeUndefined();
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual(['b']);
    store.write((w) => w.deleteWindow('b'));
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual([]);
    expect(store.countWindows()).toBe(0);
  });
});

describe('PartitionStore value encoding', () => {
  it('writes msgpackr records, which every released sluice reads back (it decodes a plain map as a JS Map)', async () => {
    const path = freshPath();
    const store = storeAt(path);
    store.write((w) => w.putWindow('k', state(100, 3), true, undefined));
    await store.close();
    open.splice(open.indexOf(store), 1);
    const raw = openLmdb({ path, maxDbs: 16, compression: false });
    expect((raw.openDB({ name: 'windows', encoding: 'binary' }).getBinary('k') as Buffer | undefined)?.[0], 'a record (ext 0xd4 0x72 ...)').toBe(0xd4);
    // What an earlier sluice opens it with: lmdb's default msgpackr.
    expect(raw.openDB({ name: 'windows' }).get('k')).toEqual(stored(100, 3));
    await raw.close();
  });
});

describe('PartitionStore dedupe', () => {
  it('lists forgettable ids in forget-time order and moves an id when its t0 changes', () => {
    const store = storeAt(freshPath());
    store.write((w) => {
      w.putDedupe('x', 10);
      w.putDedupe('y', 5);
      w.putDedupe('b', 5);
    });
    store.write((w) => w.putDedupe('x', 20));
    expect(store.getDedupe('x')).toBe(20);
    // Same forget time: ties fall back to id order.
    expect(all(store.idsForgettableBy(1010, 100))).toEqual(['b', 'y']);
    expect(all(store.idsForgettableBy(1020, 100))).toEqual(['b', 'y', 'x']);
    expect(all(store.idsForgettableBy(1020, 1))).toEqual(['b']);
    expect(all(store.idsForgettableBy(1004, 100))).toEqual([]);
  });

  it('deletes drop the id and its index entry; deleting an absent id is a no-op', () => {
    const store = storeAt(freshPath());
    store.write((w) => {
      w.putDedupe('x', 10);
      w.putDedupe('y', 5);
    });
    store.write((w) => {
      w.deleteDedupe('y');
      w.deleteDedupe('never');
    });
    expect(store.getDedupe('y')).toBeUndefined();
    expect(all(store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 100))).toEqual(['x']);
    store.write((w) => w.deleteDedupe('x'));
    expect(all(store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 100))).toEqual([]);
    expect(store.countDedupe()).toBe(0);
  });
});

describe('PartitionStore meta, wipe, durability', () => {
  it('meta() defaults before any commit, and setMeta merges partial updates', () => {
    const store = storeAt(freshPath());
    expect(store.meta()).toEqual({ inputOffset: undefined, changelogNext: undefined, streamTime: Number.NEGATIVE_INFINITY, syncedAtMs: undefined, history: undefined });
    store.write((w) => w.setMeta({ inputOffset: '5', streamTime: 7 }));
    store.write((w) => w.setMeta({ changelogNext: '12', syncedAtMs: 99 }));
    expect(store.meta()).toEqual({ inputOffset: '5', changelogNext: '12', streamTime: 7, syncedAtMs: 99 });
    store.write((w) => w.setMeta({ streamTime: Number.NEGATIVE_INFINITY }));
    expect(store.meta().streamTime).toBe(Number.NEGATIVE_INFINITY);
  });

  it('a write whose callback throws leaves nothing behind', () => {
    const store = storeAt(freshPath());
    expect(() =>
      store.write((w) => {
        w.putWindow('a', state(0));
        w.putDedupe('x', 1);
        w.setMeta({ inputOffset: '3' });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.getWindow('a')).toBeUndefined();
    expect(store.getDedupe('x')).toBeUndefined();
    expect(store.meta().inputOffset).toBeUndefined();
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual([]);
  });

  it('wipe() drops entries, indexes and meta', () => {
    const store = storeAt(freshPath());
    store.write((w) => {
      w.putWindow('a', state(0));
      w.putDedupe('x', 1);
      w.setMeta({ inputOffset: '3', changelogNext: '4', streamTime: 5, syncedAtMs: 6 });
    });
    store.wipe();
    expect(store.getWindow('a')).toBeUndefined();
    expect(store.getDedupe('x')).toBeUndefined();
    expect(store.countWindows() + store.countDedupe()).toBe(0);
    expect(all(store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual([]);
    expect(all(store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 100))).toEqual([]);
    expect(store.meta()).toEqual({ inputOffset: undefined, changelogNext: undefined, streamTime: Number.NEGATIVE_INFINITY, syncedAtMs: undefined, history: undefined });
  });

  it('entries, indexes and meta survive close and a new store on the same path', async () => {
    const path = freshPath();
    const first = new PartitionStore(path, times);
    first.write((w) => {
      w.putWindow('b', state(50, 3));
      w.putWindow('a', state(0, 2));
      w.putDedupe('x', 10);
      w.setMeta({ inputOffset: '42', changelogNext: '17', streamTime: 1234, syncedAtMs: 5678, history: undefined });
    });
    await first.close();

    const second = storeAt(path);
    expect(second.getWindow('a')).toEqual(stored(0, 2));
    expect(second.getWindow('b')).toEqual(stored(50, 3));
    expect(second.getDedupe('x')).toBe(10);
    expect(all(second.windowsClosingBy(Number.MAX_SAFE_INTEGER, 100))).toEqual(['a', 'b']);
    expect(all(second.idsForgettableBy(Number.MAX_SAFE_INTEGER, 100))).toEqual(['x']);
    expect(second.meta()).toEqual({ inputOffset: '42', changelogNext: '17', streamTime: 1234, syncedAtMs: 5678, history: undefined });
  });
});

describe('PartitionStore across reboots', () => {
  async function closeStore(store: PartitionStore): Promise<void> {
    open.splice(open.indexOf(store), 1);
    await store.close();
  }

  it('deletes a store written unsynced during another boot, unread', async () => {
    const path = freshPath();
    const first = storeAt(path, 'boot-a');
    first.write((w) => w.setMeta({ inputOffset: '10' }));
    expect(existsSync(`${path}.unsynced-boot`)).toBe(true);
    // No close: the process died, so the marker stays.
    const second = storeAt(path, 'boot-a');
    expect(second.discardedAfterReboot).toBe(false);
    expect(second.meta().inputOffset).toBe('10');
    // A store has one writer at a time (store-lock.ts), so its clean close may drop the marker.
    await closeStore(second);
    expect(existsSync(`${path}.unsynced-boot`)).toBe(false);
    await closeStore(first);
  });

  it('a crash, then a reboot: the store written unsynced is deleted unread and the new boot marked', async () => {
    const path = freshPath();
    const before = storeAt(path, 'boot-a');
    before.write((w) => w.setMeta({ inputOffset: '10' }));
    // A crash leaves the marker. lmdb-js shares one environment per file within a process, so
    // close it and put the marker back, as the crash would have left it.
    await closeStore(before);
    writeFileSync(`${path}.unsynced-boot`, 'boot-a');
    const rebooted = storeAt(path, 'boot-b');
    expect(rebooted.discardedAfterReboot).toBe(true);
    expect(rebooted.meta().inputOffset).toBeUndefined();
    expect(readFileSync(`${path}.unsynced-boot`, 'utf8')).toBe('boot-b');
  });

  it('keeps a store across a reboot after a clean close, and one that was always synced', async () => {
    const path = freshPath();
    const clean = storeAt(path, 'boot-a');
    clean.write((w) => w.setMeta({ inputOffset: '7' }));
    await closeStore(clean);
    const afterReboot = storeAt(path, 'boot-b');
    expect(afterReboot.discardedAfterReboot).toBe(false);
    expect(afterReboot.meta().inputOffset).toBe('7');
    await closeStore(afterReboot);

    const synced = freshPath();
    const store = storeAt(synced, null);
    store.write((w) => w.setMeta({ inputOffset: '5' }));
    expect(existsSync(`${synced}.unsynced-boot`)).toBe(false);
  });
});

describe('PartitionStore across a config change', () => {
  // Grace and ttl grew: the config now puts every close and forget time later than at creation.
  const later: StoreTimes = { windowCloseAt: (s) => s.s + 500, dedupeForgetAt: (t0) => t0 + 5000 };

  it('deletes a window and an id under the index times they were created with', async () => {
    const path = freshPath();
    const before = storeAt(path);
    before.write((w) => {
      w.putWindow('k', state(0), true);
      w.putDedupe('id', 10, null);
    });
    open.splice(open.indexOf(before), 1);
    await before.close();

    const after = new PartitionStore(path, later);
    open.push(after);
    // An open window keeps the close time it was created with.
    expect(all(after.windowsClosingBy(100, 10))).toEqual(['k']);
    expect(all(after.idsForgettableBy(1010, 10))).toEqual(['id']);
    after.write((w) => {
      w.deleteWindow('k');
      w.deleteDedupe('id');
    });
    // No index entry is left behind to close, and emit, the window again once it is recreated.
    expect(all(after.windowsClosingBy(Number.MAX_SAFE_INTEGER, 10))).toEqual([]);
    expect(all(after.idsForgettableBy(Number.MAX_SAFE_INTEGER, 10))).toEqual([]);
    after.write((w) => w.putWindow('k', state(0), true));
    expect(all(after.windowsClosingBy(499, 10))).toEqual([]);
    expect(all(after.windowsClosingBy(500, 10))).toEqual(['k']);
  });

  it('moves a re-sighted id in the forget index from where its first sighting put it', async () => {
    const path = freshPath();
    const before = storeAt(path);
    before.write((w) => w.putDedupe('id', 10, null));
    open.splice(open.indexOf(before), 1);
    await before.close();
    const after = new PartitionStore(path, later);
    open.push(after);
    after.write((w) => w.putDedupe('id', 2000, 10));
    expect(after.getDedupe('id')).toBe(2000);
    expect(all(after.idsForgettableBy(6999, 10))).toEqual([]);
    expect(all(after.idsForgettableBy(7000, 10))).toEqual(['id']);
  });
});

describe('PartitionStore.alignForgetTimes', () => {
  it('re-keys every id to the current retention once, so checks and forgetting agree', async () => {
    const path = freshPath();
    const before = storeAt(path);
    before.write((w) => {
      for (let i = 0; i < 25_000; i++) w.putDedupe(`id${i}`, i, null);
    });
    expect(await before.alignForgetTimes()).toBe(25_000); // never aligned before
    expect(await before.alignForgetTimes()).toBe(0);
    open.splice(open.indexOf(before), 1);
    await before.close();

    const after = new PartitionStore(path, { windowCloseAt: (s) => s.s + 100, dedupeForgetAt: (t0) => t0 + 5000 });
    open.push(after);
    expect(all(after.idsForgettableBy(1000, 10))).toEqual(['id0']);
    expect(await after.alignForgetTimes()).toBe(25_000);
    expect(all(after.idsForgettableBy(1000, 10))).toEqual([]);
    expect(all(after.idsForgettableBy(5001, 10))).toEqual(['id0', 'id1']);
    expect(after.getDedupe('id24999')).toBe(24_999);
    after.write((w) => w.deleteDedupe('id0'));
    expect(all(after.idsForgettableBy(5001, 10))).toEqual(['id1']);
    // A wiped store (before a full restore) is aligned already: restored ids are put with the current retention.
    after.wipe();
    expect(await after.alignForgetTimes()).toBe(0);
  });

  it('rebuilds an index whose re-keying was cut short, even after the retention is rolled back', async () => {
    const path = freshPath();
    const first = storeAt(path); // retention 1000
    first.write((w) => {
      for (let i = 0; i < 25_000; i++) w.putDedupe(`id${i}`, i, null);
    });
    expect(await first.alignForgetTimes()).toBe(25_000);
    open.splice(open.indexOf(first), 1);
    await first.close();

    // A new retention whose re-keying dies part-way (the process is killed in the middle).
    let calls = 0;
    const dying = new PartitionStore(path, { windowCloseAt: (s) => s.s + 100, dedupeForgetAt: (t0) => (t0 > 0 && ++calls > 15_000 ? (() => { throw new Error('killed'); })() : t0 + 5000) });
    await expect(dying.alignForgetTimes()).rejects.toThrow('killed');
    await dying.close();

    // Rolled back to the retention the index was first built with: it is rebuilt all the same.
    const back = storeAt(path);
    expect(await back.alignForgetTimes()).toBe(25_000);
    expect(all(back.idsForgettableBy(1001, 10))).toEqual(['id0', 'id1']);
  });
});
