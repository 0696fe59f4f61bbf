// What the processors need from state, so that they depend on these shapes and state implements
// them (src/state/store-transaction.ts), not the other way round.
import type { RetainedFinal, WindowState } from './window-state.ts';

/** Where first-seen event times live; backed by LMDB in production. */
export interface DedupeStore {
  get(id: string): number | undefined;
  /** `previous` is what get() returned for the id just before */
  put(id: string, t0: number, previous: number | undefined): void;
}

/**
 * Closed windows' finals kept for interactive queries (http.queryRetention), by window key. Write
 * only: no processor reads them back, so they never affect an output, lateness or dedupe.
 */
export interface RetainedFinals {
  retainFinal(key: string, final: RetainedFinal): void;
  /** keys of those kept until `now` (wall clock) or earlier, at most `limit` */
  retainedExpiringBy(now: number, limit: number): string[];
  dropRetained(key: string): void;
}

/** A source lane's state for one batch. */
export interface BatchStore extends DedupeStore, RetainedFinals {
  getWindow(key: string): WindowState | undefined;
  putWindow(key: string, state: WindowState, created: boolean): void;
  deleteWindow(key: string): void;
  /** keys of windows whose close time is at or before `streamTime` (and after `after`, if given) */
  windowsClosingBy(streamTime: number, after?: number): string[];
  idsForgettableBy(streamTime: number, limit: number): string[];
  forget(id: string): void;
  readonly touchedWindows: ReadonlySet<string>;
  /**
   * The latest start of a window geometry's windows that were closed (their final written), by
   * its mark (processors/window-math.ts, closedMark): name, size and advance, so that a window
   * whose size or advance changed starts afresh.
   */
  closedThrough(mark: string): number;
  markClosed(mark: string, start: number): void;
  /**
   * The open and closed sessions of one window and group, committed or written in this batch,
   * by store key; `prefix` is the key up to the start (output-record.ts, groupKeyPrefix).
   */
  sessionsOf(prefix: string): [string, WindowState][];
  /**
   * putWindow for a session, whose close time moves as it grows: `previousCloseAt` is its close
   * time before this change, undefined for a new session.
   */
  putSession(key: string, state: WindowState, previousCloseAt: number | undefined): void;
}

/** A merge lane's state for one batch. */
export interface MergeStore extends RetainedFinals {
  getWindow(key: string): WindowState | undefined;
  putWindow(key: string, state: WindowState, created: boolean): void;
  deleteWindow(key: string): void;
  windowsClosingBy(time: number): string[];
  setWatermark(source: number, watermark: number): void;
  /** as in BatchStore: the latest start of the window's finals written, which a grace change never reopens */
  closedThrough(mark: string): number;
  markClosed(mark: string, start: number): void;
}

/**
 * A reference table's rows by key (src/state/table-store.ts). A row holds only the fields that
 * enrichment copies, in the order `tableFields` (processors/enrich.ts) gives them, so a lookup
 * puts no more of the row on the heap than it copies.
 */
export interface TableRows {
  get(key: string): readonly unknown[] | undefined;
}
