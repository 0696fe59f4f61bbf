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

/** the longest `tracestate` kept (W3C Trace Context's limit on what must be propagated); a longer one is dropped */
export const MAX_TRACESTATE_LENGTH = 512;

/** version-traceid-spanid-flags, lower-case hex only (W3C Trace Context: upper case is invalid) */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}/;
const TRACEPARENT_LENGTH = 55;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * A header's text; undefined when it is absent, null (kafkajs hands a header without a value as
 * null, whatever its types say) or repeated (an array: which traceparent would be meant?).
 */
function singleHeader(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return undefined;
}

/**
 * A traceparent as kept, or null: version 00 exactly 55 characters; a later version (not ff) at
 * least 55, its first 55 kept, followed by `-` if longer (W3C's rule for versions it does not
 * know); lower-case hex; neither id all zeros.
 */
function validTraceparent(header: string): string | null {
  const text = header.trim();
  if (text.length < TRACEPARENT_LENGTH || !TRACEPARENT.test(text)) return null;
  const version = text.slice(0, 2);
  if (version === 'ff') return null;
  if (text.length > TRACEPARENT_LENGTH && (version === '00' || text[TRACEPARENT_LENGTH] !== '-')) return null;
  if (text.slice(3, 35) === ZERO_TRACE_ID || text.slice(36, 52) === ZERO_SPAN_ID) return null;
  return text.length === TRACEPARENT_LENGTH ? text : text.slice(0, TRACEPARENT_LENGTH);
}

/** A record's tracestate, its repeated headers joined (W3C allows splitting it); undefined when absent, empty or too long. */
function tracestateOf(v: unknown): string | undefined {
  let text: string | undefined;
  if (Array.isArray(v)) {
    for (const part of v) {
      const one = singleHeader(part)?.trim();
      if (one) text = text === undefined ? one : `${text},${one}`;
    }
  } else text = singleHeader(v)?.trim();
  return text && text.length <= MAX_TRACESTATE_LENGTH ? text : undefined;
}

/**
 * A record's trace context as kept in window state: its `traceparent` header, followed by a space
 * and its `tracestate` when it has one (a traceparent has no space); null when it has no valid
 * traceparent. Malformed, null or repeated trace headers are ignored, never an error: a record is
 * counted whatever its headers. Tracing-on path only.
 */
export function traceContextOf(rec: InputRecord): string | null {
  const headers = rec.headers;
  if (headers === undefined) return null;
  const header = singleHeader(headers.traceparent);
  const parent = header === undefined ? null : validTraceparent(header);
  if (parent === null) return null;
  const state = tracestateOf(headers.tracestate);
  return state === undefined ? parent : `${parent} ${state}`;
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
