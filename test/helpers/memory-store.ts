// An in-memory stand-in for a lane's store transaction, for processor tests that need exact
// control of what the store holds (a legacy key, an id) without LMDB or a changelog. Brute force
// on purpose: every close and forget scan walks the whole map.
import type { BatchStore, MergeStore } from '../../src/model/store-ports.ts';
import type { PipelineSpec } from '../../src/processors/types.ts';
import type { RetainedFinal, WindowState } from '../../src/model/window-state.ts';

export class MemoryStore implements BatchStore, MergeStore {
  readonly ids = new Map<string, number>();
  readonly windows = new Map<string, WindowState>();
  readonly sourceWatermarks = new Map<number, number>();
  /** closed windows' finals kept for queries, by window key */
  readonly retained = new Map<string, RetainedFinal>();
  /** reset by {@link nextBatch}, as each batch gets a fresh transaction */
  touchedWindows = new Set<string>();
  private readonly spec: PipelineSpec;

  constructor(spec: PipelineSpec) {
    this.spec = spec;
  }

  nextBatch(): this {
    this.touchedWindows = new Set();
    return this;
  }

  get(id: string): number | undefined {
    return this.ids.get(id);
  }

  put(id: string, t0: number): void {
    this.ids.set(id, t0);
  }

  forget(id: string): void {
    this.ids.delete(id);
  }

  idsForgettableBy(streamTime: number, limit: number): string[] {
    let maxSize = 0;
    let maxGrace = 0;
    for (const w of this.spec.windows) {
      maxSize = Math.max(maxSize, w.sizeMs);
      maxGrace = Math.max(maxGrace, w.graceMs);
    }
    const retention = (this.spec.dedupeTtlMs ?? 0) + maxSize + maxGrace;
    return [...this.ids].filter(([, t0]) => t0 + retention <= streamTime).slice(0, limit).map(([id]) => id);
  }

  getWindow(key: string): WindowState | undefined {
    return this.windows.get(key);
  }

  putWindow(key: string, state: WindowState): void {
    this.windows.set(key, state);
    this.touchedWindows.add(key);
  }

  deleteWindow(key: string): void {
    this.windows.delete(key);
    this.touchedWindows.delete(key);
  }

  windowsClosingBy(streamTime: number, after = Number.NEGATIVE_INFINITY): string[] {
    const due: string[] = [];
    for (const [key, state] of this.windows) {
      const w = this.spec.windows.find((d) => d.name === state.w);
      const closeAt = w === undefined ? Number.NEGATIVE_INFINITY : (state.c ?? state.s + w.sizeMs + w.graceMs);
      if (closeAt <= streamTime && closeAt > after) due.push(key);
    }
    return due;
  }

  sessionsOf(prefix: string): [string, WindowState][] {
    return [...this.windows].filter(([key]) => key.startsWith(prefix) && !key.slice(prefix.length).includes(','));
  }

  putSession(key: string, state: WindowState): void {
    this.putWindow(key, state);
  }

  readonly closed = new Map<string, number>();

  closedThrough(mark: string): number {
    return this.closed.get(mark) ?? Number.NEGATIVE_INFINITY;
  }

  markClosed(mark: string, start: number): void {
    if (start > this.closedThrough(mark)) this.closed.set(mark, start);
  }

  retainFinal(key: string, final: RetainedFinal): void {
    this.retained.set(key, final);
  }

  retainedExpiringBy(now: number, limit: number): string[] {
    return [...this.retained].filter(([, r]) => r.until <= now).sort(([, a], [, b]) => a.until - b.until).slice(0, limit).map(([key]) => key);
  }

  dropRetained(key: string): void {
    this.retained.delete(key);
  }

  setWatermark(source: number, watermark: number): void {
    this.sourceWatermarks.set(source, watermark);
  }

  watermarks(): ReadonlyMap<number, number> {
    return this.sourceWatermarks;
  }
}
