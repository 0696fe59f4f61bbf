import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireStoreLock } from '../../../src/state/store-lock.ts';
import type { StoreLock } from '../../../src/state/store-lock.ts';

const FIXTURE = new URL('./fixtures/hold-store-lock.ts', import.meta.url);
const dirs: string[] = [];
const held: StoreLock[] = [];

function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
  dirs.push(dir);
  return join(dir, 'app', 'partition-0.mdb');
}

afterEach(async () => {
  for (const l of held.splice(0)) await l.release();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const take = async (path: string, waitMs = 200) => {
  const lock = await acquireStoreLock(path, { waitMs });
  held.push(lock);
  return lock;
};

describe('acquireStoreLock', () => {
  it('gives a store to one owner at a time, and to the next once the first lets go', async () => {
    const path = storePath();
    const first = await acquireStoreLock(path, { waitMs: 200 });
    await expect(acquireStoreLock(path, { waitMs: 200 })).rejects.toMatchObject({ code: 'SLUICE_STATE_LOCKED', canRetry: true });
    // Another spelling of the same path is the same store.
    await expect(acquireStoreLock(join(path, '..', '.', 'partition-0.mdb'), { waitMs: 100 })).rejects.toMatchObject({ code: 'SLUICE_STATE_LOCKED' });
    await first.release();
    await take(path);
  });

  it('keeps other stores apart', async () => {
    const path = storePath();
    await take(path);
    await take(path.replace('partition-0', 'partition-1'));
  });

  it('waits for an owner that lets go within the wait', async () => {
    const path = storePath();
    const first = await acquireStoreLock(path, { waitMs: 200 });
    setTimeout(() => void first.release(), 150);
    const started = Date.now();
    await take(path, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('excludes another worker thread of the same process (they share the pid)', async () => {
    const path = storePath();
    const worker = new Worker(FIXTURE, { workerData: { path } });
    try {
      const next = (want: string) => new Promise<void>((resolve) => worker.on('message', (m) => m === want && resolve()));
      await next('locked');
      await expect(acquireStoreLock(path, { waitMs: 300 })).rejects.toMatchObject({ code: 'SLUICE_STATE_LOCKED' });
      const released = next('released');
      worker.postMessage('release');
      await released;
      await take(path);
    } finally {
      await worker.terminate();
    }
  });

  it('is free again the moment its owner is SIGKILLed', async () => {
    const path = storePath();
    const child = spawn(process.execPath, [FIXTURE.pathname, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    await expect(acquireStoreLock(path, { waitMs: 200 })).rejects.toMatchObject({ code: 'SLUICE_STATE_LOCKED' });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await take(path, 100);
  });
});
