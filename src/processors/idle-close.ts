// Idle close (a window's `closeIdleAfter`, docs/semantics.md "Idle close"). Stream time only
// moves with input, so on a partition that has gone quiet the last windows would wait for ever.
// Once the partition has received nothing for a definition's closeIdleAfter, the wall clock
// stands in for stream time for that definition's windows alone: each open one whose close time
// (end + grace) has passed on the clock is closed and its final written. Stream time itself does
// not move, so lateness and dedupe of every other window are untouched. The lane runs this as a
// transaction with no input, committed like a batch, so the closed marks and deletions below are
// in the changelog with the finals: a later event for such a window is late after any restart.
// A session closed this way stays, marked, until stream time passes its close (see below).
import type { OutRecord } from '../model/records.ts';
import type { BatchStore } from '../model/store-ports.ts';
import type { WindowState } from '../model/window-state.ts';
import type { WindowSpec } from './types.ts';
import { closedMark } from './window-math.ts';

/** The shortest closeIdleAfter of the windows: how long a lane must be quiet before any idle close; undefined when none has one. */
export function shortestCloseIdleAfter(windows: readonly WindowSpec[]): number | undefined {
  let shortest: number | undefined;
  for (const w of windows) if (w.closeIdleAfterMs !== undefined && (shortest === undefined || w.closeIdleAfterMs < shortest)) shortest = w.closeIdleAfterMs;
  return shortest;
}

/** Whether a partition quiet for `idleMs` closes the windows of `w` by idleness. */
const idleFor = (w: WindowSpec, idleMs: number): boolean => w.closeIdleAfterMs !== undefined && idleMs >= w.closeIdleAfterMs;

/** How many window definitions idle for `idleMs`: they only grow in number as idleness lasts. */
export function idleDefinitions(windows: readonly WindowSpec[], idleMs: number): number {
  let n = 0;
  for (const w of windows) if (idleFor(w, idleMs)) n++;
  return n;
}

/**
 * Closes the open windows that idleness closes at wall-clock time `now`, the partition having
 * received nothing for `idleMs`: those of every definition with closeIdleAfter <= idleMs whose
 * close time is at or before `now`. `final` makes each one's output record. Fixed windows move
 * their geometry's closed mark, as closing by stream time does, so a later event for them is
 * late, and are deleted. A session has no such mark: it stays in the store marked `f` until
 * stream time passes its close time and deletes it, and meanwhile an event that would join it is
 * late for its window (sessions.ts, closedByIdle) and no session starts under its key.
 * `after`: look only at close times past it, when an earlier idle close with no input since
 * handled everything up to it (BatchProcessor.idleScan); marked sessions, which wait in the close
 * index for stream time, are not read again on every tick of a quiet lane.
 */
export function closeIdleWindows(windows: readonly WindowSpec[], store: BatchStore, now: number, idleMs: number, final: (state: WindowState, storeKey: string) => OutRecord, after?: number): OutRecord[] {
  const idle = new Map<string, WindowSpec>();
  for (const w of windows) if (idleFor(w, idleMs)) idle.set(w.name, w);
  const out: OutRecord[] = [];
  if (idle.size === 0) return out;
  for (const key of store.windowsClosingBy(now, after)) {
    const state = store.getWindow(key);
    const win = state === undefined ? undefined : idle.get(state.w);
    // A session already closed by idleness waits in the store for stream time (below).
    if (state === undefined || win === undefined || state.f === 1) continue;
    out.push(final(state, key));
    if (win.kind === 'session') {
      store.putSession(key, { ...state, f: 1 }, state.c);
    } else {
      store.markClosed(closedMark(win), state.s);
      store.deleteWindow(key);
    }
  }
  return out;
}
