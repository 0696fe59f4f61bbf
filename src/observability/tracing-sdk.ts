// Whether this thread traces, and the OpenTelemetry SDK behind it (docs/tracing.md). Tracing is
// off unless the environment asks for traces; then @opentelemetry/sdk-node starts with its
// defaults, configured by the standard OTEL_* variables (OTLP over http/protobuf unless they say
// otherwise), traces only: sluice's metrics stay Prometheus. The SDK is loaded only when it
// starts, so a process without tracing never imports it. Worker threads each start their own.
import { context, propagation, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';

/** the instrumentation scope of every sluice span */
export const TRACER_NAME = 'sluice';

let tracer: Tracer | undefined;
let sdk: { shutdown(): Promise<void> } | undefined;
/** pipelines of this thread that asked for tracing and have not stopped */
let users = 0;

/** The tracer while tracing is on in this thread; undefined when off. The hot path's one check. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

const set = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

/** the OTEL_TRACES_EXPORTER values sdk-node 0.301 knows; it ignores any other (with a diag warning) */
const KNOWN_EXPORTERS = new Set(['otlp', 'zipkin', 'console']);

/**
 * Whether sdk-node, started, would set up a trace exporter; sluice starts it only then (alone it
 * would export to localhost:4318 whenever it starts). sdk-node's own rule (getSpanProcessorsFromEnv):
 * nothing with OTEL_SDK_DISABLED=true; OTEL_TRACES_EXPORTER is a comma-separated list, case as
 * written, `null` entries dropped; a list starting with `none` sets up nothing, `none` later in a
 * longer list means `otlp`, otherwise the names it knows (otlp, zipkin, console) are set up and
 * others ignored, so a list of only unknown names (`jaeger`) sets up nothing. Unset or empty, it
 * means `otlp`, which sluice takes as a request only when an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'null');
  if (exporters.length === 0) return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (exporters[0] === 'none') return false;
  return exporters.includes('none') || exporters.some((e) => KNOWN_EXPORTERS.has(e));
}

export interface TracingOptions {
  /** replaces the exporters OTEL_TRACES_EXPORTER names (tests: an in-memory exporter); starts tracing whatever the environment says */
  spanProcessors?: NodeSDKConfiguration['spanProcessors'];
  env?: NodeJS.ProcessEnv;
}

/** One caller's share of tracing in this thread: a startTracing() that turned it on or joined it. */
export interface TracingUse {
  /**
   * Leaves tracing, once (later calls do nothing); the last to leave flushes and shuts the SDK
   * down. Never rejects. Only a caller that got a use can end tracing: a pipeline that started
   * with tracing off cannot end another's.
   */
  stop(options?: StopTracingOptions): Promise<void>;
}

function newUse(): TracingUse {
  let left = false;
  return {
    stop: async (options) => {
      if (left) return;
      left = true;
      await leaveTracing(options);
    },
  };
}

/**
 * Starts tracing in this thread if it is requested (or `spanProcessors` are given), or joins it if
 * it runs already; undefined when it stays off. Each use returned must be stopped.
 */
export async function startTracing(options: TracingOptions = {}): Promise<TracingUse | undefined> {
  const env = options.env ?? process.env;
  if (tracer === undefined) {
    if (options.spanProcessors === undefined && !tracingRequested(env)) return undefined;
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    // Another caller may have started it while the module loaded: then this one joins.
    if (tracer === undefined) {
      const named = set(env.OTEL_SERVICE_NAME) || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
      const started = new NodeSDK({
        // Traces only: an empty list keeps sdk-node from exporting (OTLP) metrics and logs by default.
        metricReaders: [],
        logRecordProcessors: [],
        instrumentations: [],
        ...(named ? {} : { serviceName: 'sluice' }),
        ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
      });
      started.start();
      // The SDK's own provider, registered globally by start(); a tracer from another already
      // registered there (a library's) would still be a valid one.
      tracer = trace.getTracer(TRACER_NAME);
      sdk = started;
      users = 0;
    }
  }
  users++;
  return newUse();
}

/** how long the last use to stop waits for the SDK to flush and shut down */
export const SHUTDOWN_TIMEOUT_MS = 5000;

export interface StopTracingOptions {
  /** told why spans the SDK still held were lost: its shutdown failed (say, the collector is down) or took too long */
  warn?: (message: string) => void;
  timeoutMs?: number;
}

/**
 * The last user flushes what is still buffered and shuts the SDK down, never rejecting: a
 * collector that is down makes the SDK's shutdown fail after its exporter's retries (seconds),
 * which must not fail a pipeline's stop; after `timeoutMs` the spans still held are given up
 * (reported through `warn`) and tracing is off all the same.
 */
async function leaveTracing(options: StopTracingOptions = {}): Promise<void> {
  if (--users > 0) return;
  const running = sdk;
  tracer = undefined;
  sdk = undefined;
  const timeoutMs = options.timeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    // Settles either way, so a shutdown that fails after the timeout is no unhandled rejection.
    Promise.resolve()
      .then(() => running?.shutdown())
      .then(
        () => undefined,
        (err: unknown) => `failed (${err instanceof Error ? err.message : String(err)})`,
      ),
    new Promise<string>((resolve) => (timer = setTimeout(resolve, timeoutMs, `did not finish within ${timeoutMs} ms`))),
  ]);
  clearTimeout(timer);
  if (outcome !== undefined) options.warn?.(`tracing: flushing spans and shutting the OpenTelemetry SDK down ${outcome}; spans not yet exported are lost`);
  // start() registered the SDK's provider, context manager and propagator globally; a later
  // start in this thread (a restarted pipeline, the next test) registers fresh ones.
  trace.disable();
  context.disable();
  propagation.disable();
}
