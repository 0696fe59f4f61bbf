// One writer per store, across worker threads and processes. Two owners of one partition store
// overlap whenever a partition moves while its old owner is still busy (between the workers of
// one process at every rebalance, or between two processes pointed at one state directory), and
// an old owner's late local commit would roll the new owner's state back.
//
// On Linux the lock is a listening socket in the abstract namespace, named after the store's
// real path: binding it is atomic, a second bind fails while the first lives, and the kernel
// releases it the instant its owner closes it or dies (SIGKILL included), so a crash never
// leaves a stale lock behind and no one has to guess whether an old owner is still alive. The
// namespace belongs to the network namespace, which is what a pod and its volume share.
// Elsewhere the lock is an exclusively created file naming its owner's pid, taken over once that
// pid is gone.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { sluiceError } from '../errors.ts';

export interface StoreLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** how long to wait for the current owner to let go before giving up */
  waitMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store's identity: its real directory path (so two spellings of one path are one lock). */
function storeIdentity(path: string): string {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  return join(realpathSync(dir), basename(path));
}

function listen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(name, () => {
      server.unref();
      resolve(server);
    });
  });
}

async function trySocketLock(identity: string): Promise<StoreLock | undefined> {
  const name = `\0sluice-store:${createHash('sha256').update(identity).digest('hex')}`;
  const server = await listen(name);
  if (server === undefined) return undefined;
  return { release: () => new Promise<void>((r) => server.close(() => r())) };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryFileLock(identity: string): Promise<StoreLock | undefined> {
  const file = `${identity}.owner`;
  const me = `${process.pid}:${threadId}`;
  try {
    writeFileSync(file, me, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number(readFileSync(file, 'utf8').split(':')[0]);
    if (owner === process.pid || pidAlive(owner)) return undefined;
    rmSync(file, { force: true });
    return tryFileLock(identity);
  }
  return { release: async () => rmSync(file, { force: true }) };
}

/**
 * Takes the store's lock, waiting up to `waitMs` for its current owner (a lane that lost the
 * partition and is finishing its batch) to close. Throws SLUICE_STATE_LOCKED, which may be
 * retried, if the owner keeps it.
 */
export async function acquireStoreLock(path: string, opts: LockOptions): Promise<StoreLock> {
  const identity = storeIdentity(path);
  const attempt = process.platform === 'linux' ? trySocketLock : tryFileLock;
  const deadline = Date.now() + opts.waitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const lock = await attempt(identity);
    if (lock !== undefined) return lock;
    if (Date.now() + delay > deadline) {
      throw sluiceError('SLUICE_STATE_LOCKED', `the state store ${path} is held by another lane (another worker thread or process using the same state directory) for more than ${opts.waitMs} ms`);
    }
    await sleep(delay);
  }
}
