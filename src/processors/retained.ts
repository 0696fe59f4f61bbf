// Closed windows' finals kept for interactive queries (http.queryRetention, GET /aggregates): each
// final a lane writes is also retained under its window key until a wall-clock time, and each
// transaction drops some of those whose time has passed. The processors only write them and
// never read them back, so they never affect an output, lateness, dedupe or closing. That is also
// why the wall clock may decide here: a transaction done again after an abort (or an idle close
// at another instant) retains the same final with another `until`, which changes nothing else.
import type { RetainedFinals } from '../model/store-ports.ts';
import type { RetainedFinal, WindowState } from '../model/window-state.ts';
import { isWindowKey, windowKey } from './output-record.ts';

/** Most expired finals dropped per transaction: housekeeping, capped to keep a transaction small. */
export const EXPIRE_PER_TRANSACTION = 1000;

/**
 * Retains the final of the window stored under `storeKey` until `until`, under its window key
 * (a legacy store key, legacy-keys.ts, is not one). The final's own fields only: not the close
 * time `c`, the idle mark `f` or the trace contexts `t`, which matter to an open window alone.
 */
export function retainFinal(store: RetainedFinals, storeKey: string, state: WindowState, until: number, closedBy?: RetainedFinal['closedBy']): void {
  const kept: WindowState = { w: state.w, g: state.g, s: state.s, a: state.a };
  if (state.e !== undefined) kept.e = state.e;
  const key = isWindowKey(storeKey) ? storeKey : windowKey(state.w, state.g, state.s);
  store.retainFinal(key, closedBy === undefined ? { state: kept, until } : { state: kept, until, closedBy });
}

/**
 * Drops up to EXPIRE_PER_TRANSACTION retained finals kept until `now` or earlier. Runs whatever
 * the retention, so that finals kept under a longer one are dropped after it is lowered or set to
 * 0s; with none retained it reads one empty index range and writes nothing.
 */
export function expireRetained(store: RetainedFinals, now: number): void {
  for (const key of store.retainedExpiringBy(now, EXPIRE_PER_TRANSACTION)) store.dropRetained(key);
}
