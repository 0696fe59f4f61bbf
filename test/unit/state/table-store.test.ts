import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../src/errors.ts';
import { loadTableFile } from '../../../src/state/table-file.ts';
import { TableStore } from '../../../src/state/table-store.ts';
import type { TableStoreOptions } from '../../../src/state/table-store.ts';

let dir: string;
const open: TableStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-table-'));
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function table(opts: Partial<TableStoreOptions> = {}): Promise<TableStore> {
  const store = await TableStore.open({ path: join(dir, 'players.mdb'), fields: ['tier', 'region'], keyField: undefined, signature: 'v1', lockWaitMs: 100, ...opts });
  open.push(store);
  return store;
}

const rec = (key: string | null, value: unknown) => ({ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) });

describe('TableStore', () => {
  it('keeps only the copied fields of a row, in their order, and deletes on a tombstone', async () => {
    const store = await table();
    store.applyRecords(0, [rec('p1', { region: 'eu', tier: 'gold', bio: 'long text' }), rec('p2', { tier: 'silver' })], 2n);
    expect(store.get('p1')).toEqual(['gold', 'eu']);
    expect(store.get('p2')).toEqual(['silver', undefined]);
    store.applyRecords(0, [rec('p1', null)], 3n);
    expect(store.get('p1')).toBeUndefined();
    expect(store.position(0)).toBe('3');
    expect(store.position(1)).toBeUndefined();
  });

  it('skips rows it cannot use, counting them, without stopping', async () => {
    const store = await table();
    store.applyRecords(0, [rec('p1', 'not json'), rec(null, { tier: 'x' }), rec('p3', [1]), rec('p4', { tier: 'ok' })], 4n);
    expect(store.badRows).toBe(3);
    expect(store.get('p4')).toEqual(['ok', undefined]);
  });

  it('skips a row whose key LMDB cannot hold instead of failing the batch', async () => {
    const store = await table();
    const long = 'k'.repeat(3000);
    store.applyRecords(0, [rec(long, { tier: 'x' }), rec(long, null), rec('p1', { tier: 'gold' })], 3n);
    expect(store.badRows).toBe(2);
    expect(store.lastBadRow).toMatch(/key of 3000 bytes/);
    expect(store.get('p1')).toEqual(['gold', undefined]);
    expect(store.get(long)).toBeUndefined();
  });

  it('forgets positions with its rows when cleared, and stamps when it last applied a batch', async () => {
    const store = await table();
    expect(store.syncedAtMs()).toBeUndefined();
    store.applyRecords(0, [rec('p1', { tier: 'gold' })], 1n);
    expect(store.syncedAtMs()).toBeGreaterThan(Date.now() - 5000);
    store.clear();
    expect(store.position(0)).toBeUndefined();
    expect(store.get('p1')).toBeUndefined();
  });

  it('takes the key from a field when told to, as text', async () => {
    const store = await table({ keyField: 'id' });
    store.applyRecords(0, [rec('ignored', { id: 7, tier: 'gold' }), rec('k', { tier: 'none' })], 2n);
    expect(store.get('7')).toEqual(['gold', undefined]);
    expect(store.badRows).toBe(1);
  });

  it('starts empty again when what it was built from changes, and keeps its rows otherwise', async () => {
    const first = await table();
    first.applyRecords(0, [rec('p1', { tier: 'gold' })], 1n);
    await open.pop()!.close();
    const same = await table();
    expect(same.get('p1')).toEqual(['gold', undefined]);
    expect(same.position(0)).toBe('1');
    await open.pop()!.close();
    const changed = await table({ fields: ['tier'], signature: 'v2' });
    expect(changed.get('p1')).toBeUndefined();
    expect(changed.position(0)).toBeUndefined();
  });

  it('has one writer at a time', async () => {
    await table();
    await expect(table()).rejects.toMatchObject({ code: 'SLUICE_STATE_LOCKED' });
  });
});

describe('loadTableFile', () => {
  it('loads JSON lines, skipping blank and broken lines; the last row of a key wins', async () => {
    const file = join(dir, 'players.jsonl');
    writeFileSync(file, ['{"id":"p1","tier":"gold","region":"eu"}', '', 'oops', '[1]', '{"id":"p2","tier":"silver"}', '{"id":"p1","tier":"platinum","region":"eu"}'].join('\n'));
    const store = await table({ keyField: 'id' });
    expect(await loadTableFile(store, file, undefined)).toBe(5);
    expect(store.size).toBe(2);
    expect(store.get('p1')).toEqual(['platinum', 'eu']);
    expect(store.badRows).toBe(2);
    expect(store.lastBadRow).toMatch(/line 4: not a JSON object/);
  });

  it('loads CSV with a header (values are strings) and replaces what an earlier load left', async () => {
    const store = await table({ keyField: 'id' });
    store.applyRecords(0, [rec('stale', { tier: 'x' })], 1n);
    const file = join(dir, 'players.csv');
    writeFileSync(file, '\ufeffid,tier,region\np1,gold,eu\n"p,2",silver,"us, west"\n');
    expect(await loadTableFile(store, file, undefined)).toBe(2);
    expect(store.get('stale')).toBeUndefined();
    expect(store.get('p,2')).toEqual(['silver', 'us, west']);
  });

  it('fails with SLUICE_TABLE_UNREADABLE for a missing file', async () => {
    const store = await table({ keyField: 'id' });
    const err = await loadTableFile(store, join(dir, 'nope.csv'), undefined).catch((e: unknown) => e);
    expect(isSluiceError(err) && err.code).toBe('SLUICE_TABLE_UNREADABLE');
    expect((err as Error).message).toMatch(/no such file/);
  });
});
