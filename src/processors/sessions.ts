// Session windows: per group, a session is [first event time, last event time + gap), so two
// events share one when they are less than `gap` apart; an event whose own session [t, t + gap)
// overlaps several merges them into one, under the key of the earliest start. A session closes
// when stream time reaches its end + grace. Everything is decided against the stream time of the
// record being processed, never against what the store has deleted yet, so sessions do not
// depend on where batches end (docs/semantics.md, "Session windows").
import type { BatchStore } from '../model/store-ports.ts';
import type { WindowState } from '../model/window-state.ts';
import { addEvent, initAccumulator, mergeAccumulators } from './aggregates.ts';
import { windowKeyAt } from './output-record.ts';
import type { WindowSpec } from './types.ts';
import { sessionAccepts } from './window-math.ts';

/**
 * The open sessions of the group `prefix` names that an event at `t` joins: those whose range
 * overlaps [t, t + gap), oldest first. Sessions of a group never overlap, so these are all the
 * merge gathers: their hull with the event's own range overlaps no other session.
 */
function joinedSessions(store: BatchStore, prefix: string, t: number, gap: number, streamTime: number): [string, WindowState][] {
  const joined: [string, WindowState][] = [];
  for (const entry of store.sessionsOf(prefix)) {
    const s = entry[1];
    // A closed session has had its final (or will at this batch's end): it is never reopened,
    // and an event after it starts a new one.
    if (s.c! <= streamTime || s.e === undefined) continue;
    if (s.s < t + gap && t < s.e) joined.push(entry);
  }
  return joined.sort((a, b) => a[1].s - b[1].s);
}

/**
 * Adds an event at `t` (not late for this window) to its group's session, creating, extending
 * or merging sessions. `streamTime` already includes `t`.
 */
export function addToSession(win: WindowSpec, group: unknown[], prefix: string, event: Record<string, unknown>, t: number, streamTime: number, store: BatchStore): void {
  if (!sessionAccepts(t, win, streamTime)) return;
  const gap = win.sizeMs;
  const joined = joinedSessions(store, prefix, t, gap, streamTime);
  let start = t;
  let end = t + gap;
  let acc: unknown[] | undefined;
  for (const [, s] of joined) {
    if (s.s < start) start = s.s;
    if (s.e! > end) end = s.e!;
    // In start order, so that merged sums add up alike however batches fell.
    acc = acc === undefined ? s.a : mergeAccumulators(acc, s.a, win.aggregates);
  }
  acc ??= initAccumulator(win.aggregates);
  addEvent(acc, win.aggregates, event, t);

  const key = windowKeyAt(prefix, start);
  let previousCloseAt: number | undefined;
  for (const [k, s] of joined) {
    if (k === key) previousCloseAt = s.c;
    else store.deleteWindow(k);
  }
  store.putSession(key, { w: win.name, g: group, s: start, a: acc, c: end + win.graceMs, e: end }, previousCloseAt);
}
