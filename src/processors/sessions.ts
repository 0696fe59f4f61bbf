// Session windows: per group, a session is [first event time, last event time + gap), so two
// events share one when they are less than `gap` apart; an event whose own session [t, t + gap)
// overlaps several merges them into one, under the key of the earliest start. A session closes
// when stream time reaches its end + grace. Everything is decided against the stream time of the
// record being processed, never against what the store has deleted yet, so sessions do not
// depend on where batches end (docs/semantics.md, "Session windows").
import type { BatchStore } from '../model/store-ports.ts';
import type { WindowState } from '../model/window-state.ts';
import { addEvent, initAccumulator, mergeAccumulators } from './aggregates.ts';
import { keepTraceContext, mergeTraceContexts } from './trace-links.ts';
import { groupKeyPrefix, windowKeyAt } from './output-record.ts';
import type { WindowSpec } from './types.ts';
import { fixedWindowOpen, sessionAccepts } from './window-math.ts';

/** The sessions of one window and group as BatchStore.sessionsOf gives them, by store key. */
export type GroupSessions = [string, WindowState][];

/**
 * The open sessions of a group that an event at `t` joins: those whose range overlaps
 * [t, t + gap), oldest first; undefined when one of them was closed by idleness, which makes the
 * event late for this window (docs/semantics.md, "Idle close"). Sessions of a group never overlap,
 * so these are all the merge gathers: their hull with the event's own range overlaps no other session.
 */
function joinedSessions(sessions: GroupSessions, t: number, gap: number, streamTime: number): GroupSessions | undefined {
  const joined: GroupSessions = [];
  for (const entry of sessions) {
    const s = entry[1];
    // A session closed by stream time has had its final (or will at this batch's end): it is
    // never reopened, and an event after it starts a new one.
    if (s.c! <= streamTime || s.e === undefined) continue;
    if (s.s < t + gap && t < s.e) {
      if (s.f === 1) return undefined;
      joined.push(entry);
    }
  }
  return joined.sort((a, b) => a[1].s - b[1].s);
}

/**
 * Whether a session window that still accepts an event at `t` by stream time refuses it because
 * the session it would join was closed by idleness. Stream time does not pass that session's
 * close until later, and until then its range, kept in the store, stands for its final: joining
 * it would count the event in a result already written, and starting a session at its first
 * event time would write a second final under its key.
 */
export function closedByIdle(sessions: GroupSessions, t: number, gap: number, streamTime: number): boolean {
  return joinedSessions(sessions, t, gap, streamTime) === undefined;
}

/**
 * Adds an event at `t` (not late for every window) to its group's session, creating, extending
 * or merging sessions, unless it is late for this one. `streamTime` already includes `t`;
 * `sessions` are the group's, when the caller has scanned them already. `trace`: the event's
 * trace context, null without one, undefined while tracing is off (trace-links.ts).
 */
export function addToSession(
  win: WindowSpec,
  group: unknown[],
  prefix: string,
  event: Record<string, unknown>,
  t: number,
  streamTime: number,
  store: BatchStore,
  sessions?: GroupSessions,
  trace?: string | null,
): void {
  if (!sessionAccepts(t, win, streamTime)) return;
  const gap = win.sizeMs;
  const joined = joinedSessions(sessions ?? store.sessionsOf(prefix), t, gap, streamTime);
  if (joined === undefined) return;
  let start = t;
  let end = t + gap;
  let acc: unknown[] | undefined;
  let traces: string[] | undefined;
  for (const [, s] of joined) {
    if (trace !== undefined) traces = mergeTraceContexts(traces, s.t);
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
  const session: WindowState = { w: win.name, g: group, s: start, a: acc, c: end + win.graceMs, e: end };
  if (traces !== undefined) session.t = traces;
  if (trace) keepTraceContext(session, trace);
  store.putSession(key, session, previousCloseAt);
}

/**
 * A pipeline's session windows for BatchProcessor: the late test that counts sessions closed by
 * idleness as closed, and aggregation. The late test scans the event's groups' sessions; the scans
 * are kept for aggregating that same event (nothing writes them in between), so a session window
 * costs one range scan per event either way.
 */
export class SessionWindows {
  private readonly windows: readonly WindowSpec[];
  private readonly groups: (unknown[] | undefined)[] = [];
  private readonly prefixes: string[] = [];
  private readonly scans: (GroupSessions | undefined)[] = [];

  constructor(windows: readonly WindowSpec[]) {
    this.windows = windows;
  }

  /**
   * Whether every window is closed for the event at `t`, counting a session window closed when the
   * session the event would join was closed by idleness. For an event that allWindowsClosed
   * found not late; `closed`: each definition's closed mark.
   */
  lateForAll(event: Record<string, unknown>, t: number, streamTime: number, closed: readonly number[], store: BatchStore): boolean {
    this.scans.fill(undefined);
    for (let w = 0; w < this.windows.length; w++) {
      const win = this.windows[w]!;
      if (win.kind !== 'session') {
        if (fixedWindowOpen(t, win, streamTime, closed[w])) return false;
        continue;
      }
      if (!sessionAccepts(t, win, streamTime)) continue;
      const sessions = this.scan(w, event, store);
      if (!closedByIdle(sessions, t, win.sizeMs, streamTime)) return false;
    }
    return true;
  }

  /** Adds the event to session window `w` (addToSession), with the scan lateForAll made of it, if any. */
  add(w: number, event: Record<string, unknown>, t: number, streamTime: number, store: BatchStore, trace?: string | null): void {
    const sessions = this.scans[w];
    this.scans[w] = undefined;
    if (sessions === undefined) this.group(w, event);
    addToSession(this.windows[w]!, this.groups[w]!, this.prefixes[w]!, event, t, streamTime, store, sessions, trace);
  }

  private scan(w: number, event: Record<string, unknown>, store: BatchStore): GroupSessions {
    this.group(w, event);
    const sessions = store.sessionsOf(this.prefixes[w]!);
    this.scans[w] = sessions;
    return sessions;
  }

  private group(w: number, event: Record<string, unknown>): void {
    const win = this.windows[w]!;
    const group = new Array<unknown>(win.groupBy.length);
    for (let g = 0; g < win.groupBy.length; g++) group[g] = event[win.groupBy[g]!];
    this.groups[w] = group;
    this.prefixes[w] = groupKeyPrefix(win.name, group);
  }
}
