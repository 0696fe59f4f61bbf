// Heap with a big dedupe state: N event ids go through the lane's store path (a StoreTransaction
// per 2000 ids, sluice's DedupeProcessor recording each id in it, then the local commit into
// LMDB), then N/10 random lookups. State lives in LMDB's memory map, so the V8 heap must stay flat
// however many ids there are. state-heap-process.ts runs this in a process of its own with a 256 MB
// heap cap, so exceeding the target is a crash, not a number, and hands it the pipeline's spec:
// reading the config here would put the config parser on the heap being measured.
//
//   node --max-old-space-size=256 --expose-gc bench/in-process/state-heap.ts <ids> <spec JSON>
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { storeTimes } from '../../src/consumers/lane.ts';
import { DedupeProcessor } from '../../src/processors/dedupe.ts';
import type { PipelineSpec } from '../../src/processors/types.ts';
import { dedupeRetentionMs } from '../../src/processors/window-math.ts';
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

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) if (f.isFile()) n += statSync(join(f.parentPath, f.name)).size;
  return n;
}

/** The heap's peaks: after every transaction, and live (after a forced GC) every so often. */
class HeapSampler {
  heapMax = 0;
  rssMax = 0;
  liveMax: number | null = null;
  private readonly gc = (globalThis as { gc?: () => void }).gc;

  sample(): void {
    this.heapMax = Math.max(this.heapMax, getHeapStatistics().used_heap_size);
    this.rssMax = Math.max(this.rssMax, process.memoryUsage.rss());
  }

  /** needs --expose-gc */
  sampleLive(): void {
    if (this.gc === undefined) return;
    this.gc();
    this.liveMax = Math.max(this.liveMax ?? 0, getHeapStatistics().used_heap_size);
  }
}

const idOf = (i: number) => `e${i}-${(i * 2654435761) >>> 0}`;

/** `ids` first sightings through sluice's dedupe, TX to a local commit; returns the seconds taken. */
function insert(store: PartitionStore, spec: PipelineSpec, ids: number, heap: HeapSampler): number {
  const ttlMs = spec.dedupeTtlMs;
  if (spec.idField === undefined || ttlMs === undefined) throw new Error('state-heap: the pipeline does not dedupe');
  const times = storeTimes(spec);
  const retentionMs = dedupeRetentionMs(spec);
  const t0 = Date.now();
  const started = performance.now();
  for (let base = 0; base < ids; base += TX) {
    const tx = new StoreTransaction(store, times);
    const dedupe = new DedupeProcessor(tx, ttlMs, retentionMs);
    const end = Math.min(ids, base + TX);
    // Forgetting ids is the batch processor's step, not taken here: the state only grows.
    for (let i = base; i < end; i++) dedupe.check(idOf(i), t0 + i);
    tx.commitLocal(undefined, { inputOffset: String(end), changelogNext: undefined, streamTime: t0 + end });
    heap.sample();
    if ((base / TX) % 250 === 249) heap.sampleLive();
  }
  return (performance.now() - started) / 1000;
}

/** A tenth of the ids looked up again, spread over all of them; returns lookups per second. */
function lookUp(store: PartitionStore, ids: number, heap: HeapSampler): number {
  const lookups = Math.max(1, Math.floor(ids / 10));
  const started = performance.now();
  let found = 0;
  for (let k = 0; k < lookups; k++) {
    if (store.getDedupe(idOf((k * 7919) % ids)) !== undefined) found++;
    if ((k & 4095) === 0) heap.sample();
  }
  if (found !== lookups) throw new Error(`state-heap: ${lookups - found} of ${lookups} ids missing from LMDB`);
  return lookups / ((performance.now() - started) / 1000);
}

function measureStateHeap(ids: number, spec: PipelineSpec): StateHeapResult {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-heap-'));
  const store = new PartitionStore(join(dir, 'p0.mdb'), storeTimes(spec));
  const heap = new HeapSampler();
  try {
    const insertSeconds = insert(store, spec, ids, heap);
    const lookupsPerSecond = lookUp(store, ids, heap);
    heap.sample();
    heap.sampleLive();
    return {
      ids,
      heapMaxBytes: heap.heapMax,
      liveHeapMaxBytes: heap.liveMax,
      heapLimitBytes: getHeapStatistics().heap_size_limit,
      heapAtEndBytes: getHeapStatistics().used_heap_size,
      rssMaxBytes: heap.rssMax,
      lmdbBytes: dirBytes(dir),
      entries: store.countDedupe(),
      insertSeconds,
      lookupsPerSecond: Math.round(lookupsPerSecond),
    };
  } finally {
    void store.close().then(() => rmSync(dir, { recursive: true, force: true }));
  }
}

console.log(JSON.stringify(measureStateHeap(Number(process.argv[2]), JSON.parse(process.argv[3]!) as PipelineSpec)));
