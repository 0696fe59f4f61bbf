import type { PipelineSpec, WindowSpec } from './types.ts';

// All arithmetic uses `%` (exact for doubles) instead of `Math.floor(t / a) * a`,
// whose division can round up near 2^53 and misalign the start.

/** Largest multiple of `step` that is <= t (floored, so correct for negative t). */
export function floorTo(t: number, step: number): number {
  const r = t % step;
  return r < 0 ? t - r - step : t - r;
}

/**
 * What a closed-through mark (BatchStore.closedThrough) is kept under: the window's name and the
 * geometry that decides its starts, so that a new size or advance never inherits the old mark.
 * Window names are identifiers, so `@` and `/` cannot make two marks alike.
 */
export function closedMark(spec: WindowSpec): string {
  return `${spec.name}@${spec.sizeMs}/${windowAdvanceMs(spec)}`;
}

/** Tumbling windows are aligned to their size even if `advanceMs` says otherwise. */
export function windowAdvanceMs(spec: WindowSpec): number {
  return spec.kind === 'tumbling' ? spec.sizeMs : spec.advanceMs;
}

/**
 * Writes into `out` (from index 0, ascending) every aligned start s with
 * s <= t < s + sizeMs and returns how many were written. `out` is reused across
 * calls so the hot path allocates nothing; entries past the count are stale.
 * Requires sizeMs > 0 and advanceMs > 0.
 */
export function windowStartsInto(t: number, sizeMs: number, advanceMs: number, out: number[]): number {
  // Smallest aligned start strictly greater than t - sizeMs.
  let s = floorTo(t - sizeMs, advanceMs) + advanceMs;
  let n = 0;
  for (; s <= t; s += advanceMs) out[n++] = s;
  return n;
}

/** {@link windowStartsInto} for a window definition (honours tumbling alignment). */
export function specWindowStartsInto(t: number, spec: WindowSpec, out: number[]): number {
  return windowStartsInto(t, spec.sizeMs, windowAdvanceMs(spec), out);
}

/**
 * The late test: true iff, for every window definition, every window containing
 * t is closed. Close time grows with start, so only the latest window per
 * definition needs checking. A definition with no window containing t (only
 * possible when advance > size) is vacuously closed. With no windows configured
 * nothing is late.
 */
export function allWindowsClosed(t: number, windows: readonly WindowSpec[], streamTime: number, closedThrough?: readonly number[]): boolean {
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    if (w.kind === 'session') {
      if (sessionAccepts(t, w, streamTime)) return false;
      continue;
    }
    if (fixedWindowOpen(t, w, streamTime, closedThrough?.[i])) return false;
  }
  return windows.length > 0;
}

/**
 * Whether a fixed (tumbling, hopping) definition has an open window containing t: only the
 * latest one needs checking, as close time grows with start. `closedThrough` is the
 * definition's closed mark (BatchStore.closedThrough).
 */
export function fixedWindowOpen(t: number, w: WindowSpec, streamTime: number, closedThrough = Number.NEGATIVE_INFINITY): boolean {
  const start = floorTo(t, windowAdvanceMs(w));
  const end = start + w.sizeMs;
  return end > t && streamTime < end + w.graceMs && start > closedThrough;
}

/**
 * Whether a session window still takes an event at t: while the session of that event alone,
 * [t, t + gap), has not closed. Not the end of a longer session the event might join: that is
 * unbounded, and with it the time a dedupe id would have to be kept (docs/semantics.md).
 */
export function sessionAccepts(t: number, w: WindowSpec, streamTime: number): boolean {
  return streamTime < t + w.sizeMs + w.graceMs;
}

/**
 * How long past t0 a dedupe entry must be kept. A duplicate can carry any event
 * time <= t0 + ttl; once stream time reaches that plus the longest window and
 * grace, every window such a duplicate could land in is closed, so it can no
 * longer be counted: it is late. Dedupe is consulted before lateness, and treats
 * the id as unknown from then on (DedupeProcessor.isDuplicate), so such a repeat
 * is a `late` dead letter whether the lazy forgetting has removed the id yet or not.
 */
export function dedupeRetentionMs(spec: PipelineSpec): number {
  let maxSize = 0;
  let maxGrace = 0;
  for (let i = 0; i < spec.windows.length; i++) {
    const w = spec.windows[i]!;
    if (w.sizeMs > maxSize) maxSize = w.sizeMs;
    if (w.graceMs > maxGrace) maxGrace = w.graceMs;
  }
  return (spec.dedupeTtlMs ?? 0) + maxSize + maxGrace;
}

/** An id first seen at t0 may be forgotten once stream time is strictly greater than this. */
export function dedupeForgetAfter(t0: number, spec: PipelineSpec): number {
  return t0 + dedupeRetentionMs(spec);
}
