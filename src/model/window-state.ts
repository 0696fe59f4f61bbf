/** One window's accumulator for one group, as stored and as written to the changelog. */
export interface WindowState {
  /** window definition name */
  w: string;
  /** group values, in groupBy order */
  g: unknown[];
  /** window start, epoch ms */
  s: number;
  /** per-aggregate states, in aggregate order */
  a: unknown[];
  /**
   * close time, fixed when the window was created, so that changing a window's size or grace
   * never moves an open window's entry in the close index under it (absent in state written
   * before 0.2, whose close time is computed from the config)
   */
  c?: number;
  /**
   * a session window's end (its last event time + gap), which grows as the session does; its
   * close time `c` moves with it. Absent for fixed windows, whose end follows from `s`.
   */
  e?: number;
  /**
   * 1 on a session whose final an idle close wrote (processors/idle-close.ts). It stays in the
   * store, its range marking events that would join it as late for its window, until stream time
   * passes its close time and deletes it without a second final.
   */
  f?: 1;
  /**
   * the W3C trace contexts (`traceparent`, then a space and `tracestate` if any) of the first
   * inputs the window aggregated, at most MAX_TRACE_LINKS (processors/trace-links.ts); written
   * only while tracing is on, absent otherwise (docs/tracing.md)
   */
  t?: string[];
}

/**
 * A closed window's final, kept for interactive queries (GET /aggregates) for `http.queryRetention`
 * of wall clock after it closed. Stored apart from the open windows (its own LMDB database and
 * changelog keys `r|`), so nothing that aggregates, closes or checks lateness ever reads it.
 */
export interface RetainedFinal {
  /** the final's window, group, start, aggregates and a session's end `e`; no `c`, `f` or `t` */
  state: WindowState;
  /** wall clock (epoch ms) until which it is kept; entries past it may linger until the next expiry */
  until: number;
  /** set when an idle close wrote the final (closeIdleAfter), absent when stream time did */
  closedBy?: 'idle';
}
