// Which input traces fed a window (docs/tracing.md). With tracing on, a window's state keeps the
// W3C trace context of the first MAX_TRACE_LINKS inputs it aggregated (WindowState.t), so the
// result written when it emits (maybe batches later, by an idle close or by a merge lane) can
// link back to them. With tracing off nothing here runs and the field stays absent.
import type { InputRecord } from '../model/records.ts';
import type { OutRecord } from '../model/records.ts';
import type { WindowState } from '../model/window-state.ts';

/** how many input trace contexts a window keeps, and so the most links a result's span has */
export const MAX_TRACE_LINKS = 8;

/** One emitted result and the input contexts of its window, for the lane to trace (traced batches only). */
export interface TracedResult {
  record: OutRecord;
  links: readonly string[] | undefined;
  final: boolean;
}

/** version-traceid-spanid-flags, lower-case hex (W3C Trace Context, level 1 layout of version 00) */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

function headerText(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : typeof one === 'string' ? one : one.toString('latin1');
}

/**
 * A record's trace context as kept in window state: its `traceparent` header, followed by a space
 * and its `tracestate` when it has one (a traceparent has no space); null when it has no valid
 * traceparent. Tracing-on path only.
 */
export function traceContextOf(rec: InputRecord): string | null {
  const headers = rec.headers;
  if (headers === undefined) return null;
  const parent = headerText(headers.traceparent)?.trim().toLowerCase();
  if (parent === undefined || !TRACEPARENT.test(parent) || parent.startsWith('ff')) return null;
  const state = headerText(headers.tracestate)?.trim();
  return state ? `${parent} ${state}` : parent;
}

/** Keeps `context` in the window's contexts while it has room and does not hold it yet. */
export function keepTraceContext(state: WindowState, context: string): void {
  const kept = state.t;
  if (kept === undefined) state.t = [context];
  else if (kept.length < MAX_TRACE_LINKS && !kept.includes(context)) kept.push(context);
}

/** The contexts of two windows merged into one (sessions, partials), bounded; undefined when neither has any. */
export function mergeTraceContexts(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] | undefined {
  if (a === undefined) return b === undefined ? undefined : b.slice(0, MAX_TRACE_LINKS);
  const out = a.slice(0, MAX_TRACE_LINKS);
  if (b !== undefined) for (const c of b) if (out.length < MAX_TRACE_LINKS && !out.includes(c)) out.push(c);
  return out;
}

/** The trace contexts of the first MAX_TRACE_LINKS records of records[first, end) that carry one (a traced batch's links). */
export function firstTraceContexts(records: readonly InputRecord[], first: number, end: number): string[] {
  const out: string[] = [];
  for (let i = first; i < end && out.length < MAX_TRACE_LINKS; i++) {
    const context = traceContextOf(records[i]!);
    if (context !== null && !out.includes(context)) out.push(context);
  }
  return out;
}
