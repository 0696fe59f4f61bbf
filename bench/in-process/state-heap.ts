// Heap with a big dedupe state: N event ids go through the lane's store path (a StoreTransaction
// per 2000 ids: get, put, commitLocal into LMDB, as DedupeProcessor and the checkpoint do it),
// then N/10 random lookups. State lives in LMDB's memory map, so the V8 heap must stay flat
// however many ids there are. bench/run.ts runs this in its own process with a 256 MB heap cap,
// so exceeding the target is a crash, not a number; standalone:
//
//   node --max-old-space-size=256 --expose-gc bench/in-process/state-heap.ts [ids]     (prints one JSON line)
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { PartitionStore } from '../../src/state/partition-store.ts';
import { StoreTransaction } from '../../src/state/store-transaction.ts';

export interface StateHeapResult {
  ids: number;
  /** largest V8 heap in use, sampled after every transaction (garbage not yet collected included) */
  heapMaxBytes: number;
  /** largest heap after a full GC, sampled every 250 transactions (needs --expose-gc): what the state keeps alive */
  liveHeapMaxBytes: number | null;
  heapLimitBytes: number;
  heapAtEndBytes: number;
  rssMaxBytes: number;
  /** the LMDB files on disk (mapped, not on the heap) */
  lmdbBytes: number;
  entries: number;
  insertSeconds: number;
  lookupsPerSecond: number;
}

const TX = 2000;
const TTL_MS = 600_000;

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) if (f.isFile()) n += statSync(join(f.parentPath, f.name)).size;
  return n;
}

export function measureStateHeap(ids: number): StateHeapResult {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-heap-'));
  const times = { windowCloseAt: () => Number.POSITIVE_INFINITY, dedupeForgetAt: (t0: number) => t0 + TTL_MS };
  const store = new PartitionStore(join(dir, 'p0.mdb'), times);
  let heapMax = 0;
  let rssMax = 0;
  let liveMax: number | null = null;
  const gc = (globalThis as { gc?: () => void }).gc;
  const sampleLive = (): void => {
    if (gc === undefined) return;
    gc();
    liveMax = Math.max(liveMax ?? 0, getHeapStatistics().used_heap_size);
  };
  const sample = (): void => {
    heapMax = Math.max(heapMax, getHeapStatistics().used_heap_size);
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  };
  const t0 = Date.now();
  const started = performance.now();
  try {
    for (let base = 0; base < ids; base += TX) {
      const tx = new StoreTransaction(store, times);
      const end = Math.min(ids, base + TX);
      // Event time moves slowly: no id becomes forgettable, so the state only grows.
      for (let i = base; i < end; i++) {
        const id = `e${i}-${(i * 2654435761) >>> 0}`;
        tx.put(id, t0 + i, tx.get(id));
      }
      tx.commitLocal(undefined, { inputOffset: String(end), changelogNext: undefined, streamTime: t0 + end });
      sample();
      if ((base / TX) % 250 === 249) sampleLive();
    }
    const insertSeconds = (performance.now() - started) / 1000;
    const lookups = Math.max(1, Math.floor(ids / 10));
    const lookStart = performance.now();
    let found = 0;
    for (let k = 0; k < lookups; k++) {
      const i = (k * 7919) % ids;
      if (store.getDedupe(`e${i}-${(i * 2654435761) >>> 0}`) !== undefined) found++;
      if ((k & 4095) === 0) sample();
    }
    if (found !== lookups) throw new Error(`state-heap: ${lookups - found} of ${lookups} ids missing from LMDB`);
    const lookupsPerSecond = lookups / ((performance.now() - lookStart) / 1000);
    sample();
    sampleLive();
    return {
      ids,
      heapMaxBytes: heapMax,
      liveHeapMaxBytes: liveMax,
      heapLimitBytes: getHeapStatistics().heap_size_limit,
      heapAtEndBytes: getHeapStatistics().used_heap_size,
      rssMaxBytes: rssMax,
      lmdbBytes: dirBytes(dir),
      entries: store.countDedupe(),
      insertSeconds,
      lookupsPerSecond: Math.round(lookupsPerSecond),
    };
  } finally {
    void store.close().then(() => rmSync(dir, { recursive: true, force: true }));
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(measureStateHeap(Number(process.argv[2] ?? 5_000_000))));
}
