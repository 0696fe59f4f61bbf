// When tracing starts (the OTEL_* rule), W3C context parsing, and the spans of one lane
// transaction as an in-memory exporter receives them from the real SDK.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { parseConfig } from '../../../src/config/load.ts';
import { startPipeline } from '../../../src/entry/app.ts';
import { createLogger } from '../../../src/log.ts';
import type { CommittedChunk } from '../../../src/observability/lane-observer.ts';
import { SHUTDOWN_TIMEOUT_MS, activeTracer, startTracing, tracingRequested } from '../../../src/observability/tracing-sdk.ts';
import type { TracingUse } from '../../../src/observability/tracing-sdk.ts';
import { BatchTrace, spanContextOf, traceHttpRequest, traceRestore, traceparentOf } from '../../../src/observability/tracing-spans.ts';
import type { TracedLane } from '../../../src/observability/tracing-spans.ts';
import { MINIMAL_CONFIG } from '../../helpers/minimal-config.ts';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const LANE: TracedLane = { lane: 'partition 3', kind: 'source', topic: 'events', partition: 3, guarantee: 'exactly-once' };

describe('tracingRequested', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console, otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, false],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' }, false],
    [{ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }, true],
    // As sdk-node reads the list: it sets up only exporters it knows, and `none` first means none.
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, true],
    [{ OTEL_TRACES_EXPORTER: 'jaeger' }, false],
    [{ OTEL_TRACES_EXPORTER: 'jaeger', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_TRACES_EXPORTER: 'jaeger,otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'OTLP' }, false],
    [{ OTEL_TRACES_EXPORTER: 'none,otlp' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp,none' }, true],
    [{ OTEL_TRACES_EXPORTER: 'jaeger,none' }, true],
    [{ OTEL_TRACES_EXPORTER: ' , ' }, false],
    [{ OTEL_TRACES_EXPORTER: 'null' }, false],
    [{ OTEL_TRACES_EXPORTER: 'null', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_TRACES_EXPORTER: 'null,none,otlp' }, false],
  ])('%j -> %s', (env, on) => {
    expect(tracingRequested(env)).toBe(on);
  });

  it('leaves tracing off when not requested', async () => {
    expect(await startTracing({ env: {} })).toBeUndefined();
    expect(activeTracer()).toBeUndefined();
  });
});

describe('W3C trace context', () => {
  it('parses a kept context, with its tracestate, and writes it back', () => {
    const context = spanContextOf(`${TP} congo=t61rcWkgMzE`)!;
    expect(context).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
    expect(context.traceState?.get('congo')).toBe('t61rcWkgMzE');
    expect(traceparentOf(context)).toBe(TP);
  });

  it.each(['', 'garbage', `ff${TP.slice(2)}`, '00-00000000000000000000000000000000-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'])('refuses %j', (text) => {
    expect(spanContextOf(text)).toBeUndefined();
  });
});

describe('lane spans', () => {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  let tracing: TracingUse | undefined;
  beforeAll(async () => {
    tracing = await startTracing({ spanProcessors: [processor], env: {} });
    expect(tracing).toBeDefined();
  });
  afterAll(async () => {
    await tracing?.stop();
    expect(activeTracer()).toBeUndefined();
  });
  // The SDK's resource has asynchronous attributes: a span is exported once they are settled.
  let finished: ReturnType<typeof exporter.getFinishedSpans> = [];
  const flush = async () => {
    await processor.forceFlush();
    finished = exporter.getFinishedSpans();
  };
  const named = (name: string) => finished.filter((s) => s.name === name);
  const chunk = (over: Partial<CommittedChunk> = {}): CommittedChunk => ({
    lane: 'partition 3',
    mode: 'latency',
    records: 5,
    outputs: 2,
    nextOffset: '42',
    commitSeconds: 0.01,
    streamTime: 0,
    stats: { records: 5, duplicates: 1, late: 0, deadLetters: new Map([['invalid-json', 2]]), finals: 1, updates: 1, dropped: 0 },
    input: [],
    first: 0,
    end: 0,
    ...over,
  });

  it('a batch: its links, a result span per window result whose context the output carries, a commit span, counts', async () => {
    exporter.reset();
    const batch = new BatchTrace(activeTracer()!, 'sluice.batch', LANE);
    const withHeader = { key: 'k2', headers: { 'x-other': 'kept' } as Record<string, string> };
    const results = [{ record: { key: 'k1' } as { key: string; headers?: Record<string, string> }, links: [TP, 'not one'], final: true }, { record: withHeader, links: undefined, final: false }];
    batch.processed([TP], results);
    expect(await batch.commit(2, 3, async () => 'end')).toBe('end');
    batch.committed(chunk());
    await flush();
    const [span] = named('sluice.batch');
    expect(span!.attributes).toMatchObject({ 'messaging.destination.name': 'events', 'messaging.destination.partition.id': '3', 'sluice.batch.records': 5, 'sluice.batch.dead_letters': 2, 'sluice.batch.duplicates': 1, 'sluice.commit.result': 'committed', 'sluice.commit.next_offset': '42' });
    expect(span!.links.map((l) => traceparentOf(l.context))).toEqual([TP]);
    const resultSpans = named('sluice.window.result');
    expect(resultSpans.map((s) => s.parentSpanContext?.spanId)).toEqual([span!.spanContext().spanId, span!.spanContext().spanId]);
    expect(resultSpans.map((s) => s.links.length)).toEqual([1, 0]);
    expect(results[0]!.record.headers).toEqual({ traceparent: traceparentOf(resultSpans[0]!.spanContext()) });
    expect(withHeader.headers).toEqual({ 'x-other': 'kept', traceparent: traceparentOf(resultSpans[1]!.spanContext()) });
    expect(named('sluice.commit')[0]!.attributes).toMatchObject({ 'sluice.commit.outputs': 2, 'sluice.commit.changelog_records': 3 });
  });

  it('an aborted batch: error status on the batch and on its failed commit', async () => {
    exporter.reset();
    const batch = new BatchTrace(activeTracer()!, 'sluice.batch', LANE);
    const error = new Error('fenced');
    await expect(batch.commit(0, 1, () => Promise.reject(error))).rejects.toBe(error);
    batch.aborted(error);
    await flush();
    expect(named('sluice.commit')[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'fenced' });
    expect(named('sluice.batch')[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(named('sluice.batch')[0]!.attributes['sluice.commit.result']).toBe('aborted');
  });

  it('a restore, and an HTTP request under its caller\'s trace', async () => {
    exporter.reset();
    expect(await traceRestore(LANE, false, async () => ({ mode: 'replay', records: 7 }))).toEqual({ mode: 'replay', records: 7 });
    await flush();
    expect(named('sluice.restore')[0]!.attributes).toMatchObject({ 'sluice.restore.mode': 'replay', 'sluice.restore.records': 7, 'sluice.restore.full': false });
    const done = traceHttpRequest('POST', '/events', { traceparent: TP });
    done!(202);
    await flush();
    const [http] = named('POST /events');
    expect(http!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(http!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(http!.attributes['http.response.status_code']).toBe(202);
  });
});

describe('tracing off', () => {
  it('writes no traceparent from a tracer that makes no real spans', () => {
    // No provider registered: the global tracer is a no-op, its spans' contexts all zeros.
    const noop = trace.getTracer('sluice');
    const record: { key: string; headers?: Record<string, string> } = { key: 'k' };
    new BatchTrace(noop, 'sluice.batch', LANE).processed([TP], [{ record, links: [TP], final: true }]);
    expect(record.headers).toBeUndefined();
  });

  it('makes no HTTP span and restores without one', async () => {
    expect(activeTracer()).toBeUndefined();
    expect(traceHttpRequest('GET', '/healthz', {})).toBeUndefined();
    expect(await traceRestore(LANE, true, async () => ({ mode: 'full', records: 1 }))).toEqual({ mode: 'full', records: 1 });
  });
});

describe('stopping tracing', () => {
  /** A span processor whose shutdown does what `shutdown` says. */
  const processorShuttingDown = (shutdown: () => Promise<void>): SpanProcessor => ({ onStart: () => undefined, onEnd: () => undefined, forceFlush: async () => undefined, shutdown });

  it('resolves, warns and turns tracing off when the SDK fails to shut down', async () => {
    const tracing = await startTracing({ spanProcessors: [processorShuttingDown(() => Promise.reject(new Error('collector down')))], env: {} });
    const warn = vi.fn();
    await expect(tracing!.stop({ warn })).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/failed \(collector down\); spans not yet exported are lost/));
    expect(activeTracer()).toBeUndefined();
    // The globals were released: tracing starts again.
    const again = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })], env: {} });
    expect(activeTracer()).toBeDefined();
    await again!.stop();
  });

  it('gives up waiting after its timeout', async () => {
    const tracing = await startTracing({ spanProcessors: [processorShuttingDown(() => new Promise(() => undefined))], env: {} });
    const warn = vi.fn();
    await tracing!.stop({ warn, timeoutMs: 50 });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/did not finish within 50 ms/));
    expect(activeTracer()).toBeUndefined();
  });

  it('ends when every use stopped, each counted once', async () => {
    const first = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })], env: {} });
    const second = await startTracing({ env: {} });
    expect(second).toBeDefined();
    await first!.stop();
    await first!.stop();
    expect(activeTracer()).toBeDefined();
    await second!.stop();
    expect(activeTracer()).toBeUndefined();
  });

  it('resolves within its timeout when the OTLP collector refuses connections', { timeout: 30_000 }, async () => {
    // A port nobody listens on.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const saved = { ...process.env };
    // sdk-node reads the process's environment; only the flush at shutdown exports.
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      const tracing = await startTracing();
      activeTracer()!.startSpan('unexported').end();
      const warn = vi.fn();
      const began = performance.now();
      await expect(tracing!.stop({ warn })).resolves.toBeUndefined();
      expect(performance.now() - began).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1000);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(activeTracer()).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });
});

describe('a pipeline and tracing', () => {
  it('leaves the tracing it joined when it fails to start', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-tracing-start-'));
    const other = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })], env: {} });
    try {
      // Nothing listens on port 1: openClient gives up after connectTimeout.
      const config = parseConfig({ ...MINIMAL_CONFIG, kafka: { brokers: ['127.0.0.1:1'], connectTimeout: '1s' }, application: { ...MINIMAL_CONFIG.application, stateDir: dir } });
      await expect(startPipeline(config, createLogger('error'))).rejects.toMatchObject({ code: 'SLUICE_BROKERS_UNREACHABLE' });
    } finally {
      await other!.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    // The failed pipeline's share was left: the other use was the last.
    expect(activeTracer()).toBeUndefined();
  });
});
