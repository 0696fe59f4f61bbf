// The spans sluice makes while tracing is on (docs/tracing.md). A lane asks activeTracer() once
// per fetched batch; when it is undefined none of this runs. Per transaction:
//
//   sluice.batch (or sluice.idle-close)     one per lane transaction; links to the first inputs
//     ├─ sluice.window.result               one per window result written, linked to the inputs
//     │                                     its window aggregated; its context is the output
//     │                                     record's `traceparent` header
//     └─ sluice.commit                      the Kafka transaction (outputs, changelog, offsets)
//   sluice.restore                          a lane bringing its state up to the changelog end
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createTraceState, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, SpanContext, Tracer } from '@opentelemetry/api';
import type { OutHeaders } from '../model/records.ts';
import type { CommittedChunk } from './lane-observer.ts';
import { activeTracer } from './tracing-sdk.ts';

/** Which lane a span is about. */
export interface TracedLane {
  /** how logs name the lane */
  lane: string;
  kind: 'source' | 'merge';
  /** the topic the lane reads: the input topic, or a partials topic */
  topic: string;
  partition: number;
  guarantee: string;
}

/** A window result as the processors list it (processors/trace-links.ts, TracedResult). */
export interface ResultToTrace {
  record: { key: unknown; headers?: OutHeaders };
  links: readonly string[] | undefined;
  final: boolean;
}

/** `vv-<32 hex trace id>-<16 hex span id>-ff`, then a space and a tracestate or nothing (version 00's layout; later versions may add fields after the flags) */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}(?:-|\s|$)/;

/** A kept trace context (`traceparent`, then a space and `tracestate` if any) as a span context; undefined if it is not a valid one. */
export function spanContextOf(text: string): SpanContext | undefined {
  // Fixed offsets rather than split('-'): a result's span parses up to 8 of these.
  if (!TRACEPARENT.test(text) || text.startsWith('ff')) return undefined;
  const context: SpanContext = { traceId: text.slice(3, 35), spanId: text.slice(36, 52), traceFlags: Number.parseInt(text.slice(53, 55), 16), isRemote: true };
  const space = text.indexOf(' ', 55);
  if (space >= 0) context.traceState = createTraceState(text.slice(space + 1));
  return isSpanContextValid(context) ? context : undefined;
}

/** The W3C `traceparent` header naming a span. */
export function traceparentOf(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Links by kept context. A window's contexts are linked again at each of its results (every
 * update with `emit: update`), and one input's context is kept by each window it went to, so
 * most lookups hit. The SDK copies the links it is given, so sharing them is safe.
 */
const linkCache = new Map<string, Link | null>();
const LINK_CACHE_SIZE = 20_000;

function linksOf(contexts: readonly string[] | undefined): Link[] {
  const links: Link[] = [];
  if (contexts === undefined) return links;
  for (const text of contexts) {
    let link = linkCache.get(text);
    if (link === undefined) {
      if (linkCache.size >= LINK_CACHE_SIZE) linkCache.clear();
      const context = spanContextOf(text);
      linkCache.set(text, (link = context === undefined ? null : { context }));
    }
    if (link !== null) links.push(link);
  }
  return links;
}

function laneAttributes(lane: TracedLane): Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.destination.name': lane.topic,
    'messaging.destination.partition.id': String(lane.partition),
    'sluice.lane': lane.lane,
    'sluice.lane.kind': lane.kind,
    'sluice.guarantee': lane.guarantee,
  };
}

function fail(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/** One lane transaction's span and its children. */
/** Ends a span; what a span processor throws is dropped, as tracing never fails the data path. */
function endQuietly(span: Span): void {
  try {
    span.end();
  } catch {
    // The span is lost; the data path goes on.
  }
}

export class BatchTrace {
  private readonly tracer: Tracer;
  private readonly span: Span;
  private readonly context: Context;

  /** `name`: sluice.batch, or sluice.idle-close for a transaction without input; `startTime` (epoch ms) when it began before the span. */
  constructor(tracer: Tracer, name: 'sluice.batch' | 'sluice.idle-close', lane: TracedLane, startTime?: number) {
    this.tracer = tracer;
    this.span = tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes: laneAttributes(lane), startTime }, ROOT_CONTEXT);
    this.context = trace.setSpan(ROOT_CONTEXT, this.span);
  }

  /**
   * After processing: links the batch to its first inputs' traces, and gives every window result
   * a span of its own, linked to the inputs its window aggregated, whose context the output
   * record carries as its `traceparent` header.
   */
  processed(inputs: readonly string[], results: readonly ResultToTrace[] | undefined): void {
    this.span.addLinks(linksOf(inputs));
    if (results === undefined) return;
    for (const r of results) {
      const links = linksOf(r.links);
      const span = this.tracer.startSpan(
        'sluice.window.result',
        // Few attributes: the SDK checks each one's value with allocations of its own.
        { kind: SpanKind.PRODUCER, links, attributes: { 'sluice.window.key': String(r.record.key), 'sluice.result.final': r.final } },
        this.context,
      );
      const context = span.spanContext();
      // A tracer that makes no real spans (no provider registered after all) gives an all-zero
      // context: no header rather than one naming nothing.
      if (isSpanContextValid(context)) {
        const traceparent = traceparentOf(context);
        r.record.headers = r.record.headers === undefined ? { traceparent } : { ...r.record.headers, traceparent };
      }
      span.end();
    }
  }

  /** Runs the Kafka transaction's commit (the sink's) in a sluice.commit span. */
  async commit<T>(outputs: number, changelog: number, run: () => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan('sluice.commit', { kind: SpanKind.PRODUCER, attributes: { 'sluice.commit.outputs': outputs, 'sluice.commit.changelog_records': changelog } }, this.context);
    let result: T;
    try {
      result = await run();
    } catch (err) {
      fail(span, err);
      endQuietly(span);
      throw err;
    }
    // The transaction has committed: a span processor that throws must not make it look failed.
    endQuietly(span);
    return result;
  }

  /** The transaction committed: what it consumed and wrote. */
  committed(c: CommittedChunk): void {
    const s = c.stats;
    let deadLetters = 0;
    for (const n of s.deadLetters.values()) deadLetters += n;
    this.span.setAttributes({
      'messaging.batch.message_count': c.records,
      'sluice.batch.records': c.records,
      'sluice.batch.outputs': c.outputs,
      'sluice.batch.finals': s.finals,
      'sluice.batch.updates': s.updates,
      'sluice.batch.dead_letters': deadLetters,
      'sluice.batch.duplicates': s.duplicates,
      'sluice.batch.late': s.late,
      'sluice.batch.mode': c.mode,
      'sluice.commit.result': 'committed',
      'sluice.commit.next_offset': c.nextOffset,
    });
    this.span.end();
  }

  /** The transaction was aborted (processing or its commit failed); the lane closes. */
  aborted(err: unknown): void {
    this.span.setAttribute('sluice.commit.result', 'aborted');
    fail(this.span, err);
    this.span.end();
  }
}

/** The lane's restore, in a sluice.restore span when tracing is on. */
export async function traceRestore<T extends { mode: string; records: number }>(lane: TracedLane, full: boolean, restore: () => Promise<T>): Promise<T> {
  const tracer = activeTracer();
  if (tracer === undefined) return restore();
  const span = tracer.startSpan('sluice.restore', { attributes: { ...laneAttributes(lane), 'sluice.restore.full': full } }, ROOT_CONTEXT);
  try {
    const outcome = await restore();
    span.setAttributes({ 'sluice.restore.mode': outcome.mode, 'sluice.restore.records': outcome.records });
    return outcome;
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * The hook for the HTTP server: a server span per request while tracing is on, a child of the
 * request's `traceparent` if it has one; undefined when tracing is off. Call the returned
 * function once the response is finished.
 */
export function traceHttpRequest(method: string, route: string, headers: { traceparent?: string | string[] | undefined; tracestate?: string | string[] | undefined }): ((status: number) => void) | undefined {
  const tracer = activeTracer();
  if (tracer === undefined) return undefined;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const parentHeader = first(headers.traceparent);
  const stateHeader = first(headers.tracestate);
  const parent = parentHeader === undefined ? undefined : spanContextOf(stateHeader ? `${parentHeader.trim()} ${stateHeader}` : parentHeader.trim());
  const span = tracer.startSpan(`${method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } }, parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent));
  return (status) => {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
}
