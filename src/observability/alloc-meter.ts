// Bytes allocated on the V8 heap, for "allocation per event". V8 has no cumulative allocation
// counter, but GCProfiler reports the heap size before and after every GC: what was allocated is
// the growth between one GC's end and the next one's start, plus the growth since the last GC.
// The profiler keeps its events until stopped, so it is cycled to keep memory bounded.
import { GCProfiler, getHeapStatistics } from 'node:v8';

interface GcEvent {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

export class AllocationMeter {
  private profiler = new GCProfiler();
  private lastUsed = getHeapStatistics().used_heap_size;
  private total = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(cycleMs = 5000) {
    this.profiler.start();
    this.timer = setInterval(() => this.cycle(), cycleMs).unref();
  }

  /** Total bytes allocated since the meter started (an estimate accurate to the GC granularity). */
  allocatedBytes(): number {
    this.cycle();
    return this.total;
  }

  private cycle(): void {
    const result = this.profiler.stop() as unknown as { statistics?: GcEvent[] } | undefined;
    const usedNow = getHeapStatistics().used_heap_size;
    this.profiler = new GCProfiler();
    this.profiler.start();
    let last = this.lastUsed;
    for (const e of result?.statistics ?? []) {
      this.total += Math.max(0, e.beforeGC.heapStatistics.usedHeapSize - last);
      last = e.afterGC.heapStatistics.usedHeapSize;
    }
    this.total += Math.max(0, usedNow - last);
    this.lastUsed = usedNow;
  }

  stop(): void {
    clearInterval(this.timer);
    this.profiler.stop();
  }
}
