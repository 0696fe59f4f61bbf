// Session windows for the oracle, from docs/semantics.md alone: per window and group a list of
// open sessions, each holding its events; merging is concatenation. Brute force on purpose.
import type { OracleWindow } from './oracle.ts';

export type SessionEvent = { time: number; event: Record<string, unknown> };

export type OracleSession = { def: OracleWindow; groupKey: string; key: string; group: Record<string, unknown>; start: number; end: number; events: SessionEvent[] };

export class OracleSessions {
  private open: OracleSession[] = [];
  /** events that joined two or more sessions into one */
  bridges = 0;

  /** A session window takes an event while the session of that event alone has not closed. */
  static accepts(t: number, def: OracleWindow, streamTime: number): boolean {
    return streamTime < t + def.sessionGapMs! + def.graceMs;
  }

  /** Removes and returns the sessions stream time has closed. */
  closeBy(streamTime: number): OracleSession[] {
    const closing = this.open.filter((s) => streamTime >= s.end + s.def.graceMs);
    this.open = this.open.filter((s) => !closing.includes(s));
    return closing;
  }

  /** Every still-open session (closed ones must have been taken by closeBy first). */
  add(def: OracleWindow, groupValues: unknown[], group: Record<string, unknown>, e: SessionEvent, streamTime: number): void {
    if (!OracleSessions.accepts(e.time, def, streamTime)) return;
    const gap = def.sessionGapMs!;
    const groupKey = JSON.stringify([def.name, ...groupValues]);
    // Two events are in one session when they are less than the gap apart.
    const joined = this.open.filter((s) => s.groupKey === groupKey && s.events.some((x) => Math.abs(x.time - e.time) < gap));
    if (joined.length >= 2) this.bridges++;
    const events = [...joined.flatMap((s) => s.events), e];
    const times = events.map((x) => x.time);
    const start = Math.min(...times);
    this.open = this.open.filter((s) => !joined.includes(s));
    this.open.push({ def, groupKey, key: JSON.stringify([def.name, ...groupValues, start]), group, start, end: Math.max(...times) + gap, events });
  }
}
