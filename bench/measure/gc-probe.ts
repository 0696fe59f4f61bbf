// Preloaded into the sluice child (`node --import bench/measure/gc-probe.ts bin/sluice.js ...`), and so
// into each of its worker threads too: every GC pause, with its kind and thread, goes to the bench
// over IPC once a second. sluice's nodejs_gc_duration_seconds buckets (0.5 ms doubling to 2 s)
// bound a pause within a factor of two; the report's max pause needs the pauses themselves. Each thread is its own V8 isolate with its own GC, so each observes itself;
// workers hand their pauses to the main thread, the one with the IPC channel.
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';

export type GcEvent = [atMs: number, kind: string, durationMs: number, thread: number];

const KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);
const CHANNEL = 'sluice-bench-gc-probe';

function observe(): () => GcEvent[] {
  let pending: GcEvent[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } | null }).detail?.kind;
      pending.push([performance.timeOrigin + e.startTime, KINDS.get(kind ?? -1) ?? 'other', e.duration, threadId]);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    const batch = pending;
    pending = [];
    return batch;
  };
}

// Only under the bench: the main thread has an IPC channel then.
const underBench = isMainThread ? typeof process.send === 'function' : true;
if (underBench) {
  const take = observe();
  const channel = new BroadcastChannel(CHANNEL);
  channel.unref();
  let fromWorkers: GcEvent[] = [];
  if (isMainThread) {
    channel.onmessage = (msg) => {
      fromWorkers = fromWorkers.concat((msg as { data: GcEvent[] }).data);
    };
    // The IPC channel must not keep a stopping sluice alive.
    process.channel?.unref();
  }
  const timer = setInterval(() => {
    const batch = take();
    if (!isMainThread) {
      if (batch.length > 0) channel.postMessage(batch);
      return;
    }
    const all = batch.concat(fromWorkers);
    fromWorkers = [];
    if (all.length > 0 && process.connected) process.send?.({ type: 'gc', events: all });
  }, 1000);
  timer.unref();
}
