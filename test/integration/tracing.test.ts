// OpenTelemetry tracing end to end against the real broker, exported to an in-memory exporter:
// input records carry `traceparent` headers; every output aggregate must carry a `traceparent`
// naming an exported window-result span whose links are the first MAX_TRACE_LINKS input contexts
// its window aggregated (computed here from the test's own events), through a window closed by
// stream time, one closed by idleness and a cross-partition window merged from partials. Batch
// spans count their records per partition; restore and commit spans exist. With tracing off, no
// span is made and no header written.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { activeTracer, startTracing } from '../../src/observability/tracing-sdk.ts';
import { traceparentOf } from '../../src/observability/tracing-spans.ts';
import { MAX_TRACE_LINKS } from '../../src/processors/trace-links.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import { KAFKA_CLIENTS, brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from '../helpers/kafka.ts';
import type { ReadMessage } from '../helpers/kafka.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const PARTITIONS = 2;
const T0 = 1_700_000_000_000;
const SIZE = 10_000;

interface TestEvent {
  partition: number;
  player: string;
  region: string;
  ts: number;
  traceparent: string | undefined;
}

const newTraceparent = (): string => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

/**
 * Per partition: two players, 40 events over two 10 s windows (10 per player and window: more
 * than MAX_TRACE_LINKS), every 7th without a traceparent; then one event of a `closer` player a
 * minute later, which closes those windows by stream time and whose own window only idleness
 * closes. Regions mix players of both partitions (cross-partition windows). One invalid record.
 */
function testEvents(): TestEvent[] {
  const events: TestEvent[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let i = 0; i < 40; i++) {
      events.push({ partition: p, player: `p${p}-${i % 2}`, region: i % 4 < 2 ? 'eu' : 'us', ts: T0 + i * 500, traceparent: i % 7 === 3 ? undefined : newTraceparent() });
    }
    events.push({ partition: p, player: `closer-${p}`, region: 'zz', ts: T0 + 60_000, traceparent: newTraceparent() });
  }
  return events;
}

const windowStart = (ts: number) => ts - (ts % SIZE);

/** The input contexts each window aggregated, in offset order, by output key. */
function expectedContexts(events: readonly TestEvent[]): Map<string, string[]> {
  const byWindow = new Map<string, string[]>();
  const add = (key: string, tp: string | undefined) => {
    let list = byWindow.get(key);
    if (list === undefined) byWindow.set(key, (list = []));
    if (tp !== undefined) list.push(tp);
  };
  for (const e of events) {
    add(JSON.stringify(['per_player', e.player, windowStart(e.ts)]), e.traceparent);
    if (e.region !== 'zz') add(JSON.stringify(['per_region', e.region, windowStart(e.ts)]), e.traceparent);
  }
  return byWindow;
}

async function tracingScenario(client: KafkaClientName, name: string) {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  const appId = uniqueName(name);
  const [input, output, dlq] = [`${appId}-in`, `${appId}-out`, `${appId}-dlq`];
  await createTopics([{ topic: input, numPartitions: PARTITIONS }]);
  const q = JSON.stringify;
  const window = (n: string, by: string, idle: boolean) =>
    [`  - name: ${n}`, `    groupBy: [${by}]`, '    tumbling: 10s', '    grace: 0s', ...(idle ? ['    closeIdleAfter: 2s'] : []), '    emit: final', '    aggregates: { n: "count()" }'].join('\n');
  const yaml = [
    `kafka: { brokers: [${brokers().map((b) => q(b)).join(', ')}], client: ${client}, clientId: sluice-test, sessionTimeout: 6s }`,
    `application: { id: ${q(appId)}, guarantee: exactly-once, stateDir: ${q(join(dir, 'state'))} }`,
    `input: { topic: ${q(input)}, format: json, key: player, eventTime: { field: ts } }`,
    'windows:',
    window('per_player', 'player', true),
    window('per_region', 'region', false),
    `output: { topic: ${q(output)} }`,
    `deadLetter: { topic: ${q(dlq)} }`,
    '',
  ].join('\n');
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  const events = testEvents();
  const records = events.map((e) => ({ partition: e.partition, key: e.player, value: JSON.stringify({ player: e.player, region: e.region, ts: e.ts }), headers: e.traceparent === undefined ? undefined : { traceparent: e.traceparent } }));
  // One record that is no JSON: a dead letter, counted on its batch's span.
  records.splice(5, 0, { partition: 0, key: 'p0-1', value: '{not json', headers: { traceparent: newTraceparent() } });
  await produceToPartitions(input, records);
  const expected = expectedContexts(events);
  return { dir, appId, input, output, dlq, config: loadConfigFile(file), events, expected, inputPerPartition: [0, 1].map((p) => records.filter((r) => r.partition === p).length) };
}

/** Runs the pipeline until its input is committed and every expected output is there; `beforeStop` runs then, before it stops. */
async function runToEnd(s: Awaited<ReturnType<typeof tracingScenario>>, beforeStop?: () => Promise<void>): Promise<ReadMessage[]> {
  const pipeline = await startPipeline(s.config, log);
  try {
    await waitForCommittedEnd(s.appId, s.input, 120_000);
    // Every window but the closers' regions ('zz', which no watermark passes): 4 players' and 2 closers', 2 regions', over 2 windows.
    const out = await readAllCommitted(s.output, s.expected.size, 3000, 90_000);
    await beforeStop?.();
    return out;
  } finally {
    await pipeline.stop();
  }
}

const attr = (span: ReadableSpan, name: string) => span.attributes[name];

describe.each(KAFKA_CLIENTS)('tracing on %s', (client) => {
  it('is off without OTEL_* variables: no spans, no traceparent headers', async () => {
    const s = await tracingScenario(client, 'trace-off');
    // A provider registered globally, as an application embedding sluice might have: sluice must not use it unasked.
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    let other: Awaited<ReturnType<typeof startTracing>>;
    try {
      const out = await runToEnd(s, async () => {
        expect(exporter.getFinishedSpans()).toEqual([]);
        // Tracing started in this thread after the pipeline (by another pipeline, say) is not the
        // untraced pipeline's to end when it stops.
        trace.disable();
        other = await startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })] });
      });
      expect(out.length).toBe(s.expected.size);
      expect(out.filter((m) => m.headers.traceparent !== undefined)).toEqual([]);
      expect(activeTracer()).toBeDefined();
    } finally {
      await other?.stop();
      trace.disable();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('traces batches, commits, restores and window results; each output links to the inputs its window aggregated', async () => {
    const s = await tracingScenario(client, 'trace-on');
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    const tracing = await startTracing({ spanProcessors: [processor] });
    expect(tracing).toBeDefined();
    try {
      const out = await runToEnd(s);
      // Exports wait for the resource's asynchronous attributes.
      await processor.forceFlush();
      const spans = exporter.getFinishedSpans();
      const byId = new Map(spans.map((sp) => [sp.spanContext().spanId, sp]));

      // Every output names a window-result span linked to its window's first inputs.
      expect(out.map((m) => m.key).sort()).toEqual([...s.expected.keys()].sort());
      for (const m of out) {
        const parent = m.headers.traceparent;
        expect(parent, m.key ?? '').toMatch(/^00-[\da-f]{32}-[\da-f]{16}-01$/);
        const span = byId.get(parent!.split('-')[2]!);
        expect(span?.name, m.key ?? '').toBe('sluice.window.result');
        expect(traceparentOf(span!.spanContext())).toBe(parent);
        const links = span!.links.map((l) => traceparentOf(l.context));
        const inputs = s.expected.get(m.key!)!;
        if (m.key!.startsWith('["per_player"')) {
          // Partition-local: exactly the first N, in offset order.
          expect(links, m.key!).toEqual(inputs.slice(0, MAX_TRACE_LINKS));
        } else {
          // Merged from both partitions' partials: N of the window's inputs, whichever partial came first.
          expect(links.length, m.key!).toBe(Math.min(MAX_TRACE_LINKS, inputs.length));
          for (const l of links) expect(inputs, m.key!).toContain(l);
        }
        const batch = byId.get(span!.parentSpanContext!.spanId);
        expect(['sluice.batch', 'sluice.idle-close'], m.key!).toContain(batch?.name);
      }
      // The closers' windows close by idleness alone.
      const idle = spans.filter((sp) => sp.name === 'sluice.idle-close');
      expect(idle.length).toBeGreaterThan(0);
      expect(out.filter((m) => m.key!.includes('closer')).every((m) => byId.get(byId.get(m.headers.traceparent!.split('-')[2]!)!.parentSpanContext!.spanId)?.name === 'sluice.idle-close')).toBe(true);

      // Batch spans per input partition count every record, the dead letter included, and committed.
      const batches = spans.filter((sp) => sp.name === 'sluice.batch' && attr(sp, 'messaging.destination.name') === s.input);
      for (let p = 0; p < PARTITIONS; p++) {
        const mine = batches.filter((sp) => attr(sp, 'messaging.destination.partition.id') === String(p));
        expect(mine.reduce((n, sp) => n + (attr(sp, 'sluice.batch.records') as number), 0), `partition ${p}`).toBe(s.inputPerPartition[p]);
        expect(mine.every((sp) => attr(sp, 'sluice.commit.result') === 'committed')).toBe(true);
      }
      expect(batches.reduce((n, sp) => n + (attr(sp, 'sluice.batch.dead_letters') as number), 0)).toBe(1);
      // Batches link to their first inputs' traces.
      const batchLinks = new Set(batches.flatMap((sp) => sp.links.map((l) => traceparentOf(l.context))));
      expect(batchLinks.has(s.events.find((e) => e.traceparent !== undefined)!.traceparent!)).toBe(true);
      // Merge lanes' batches too.
      expect(spans.some((sp) => sp.name === 'sluice.batch' && attr(sp, 'sluice.lane.kind') === 'merge')).toBe(true);
      // Every transaction has its commit span.
      for (const b of spans.filter((sp) => sp.name === 'sluice.batch' || sp.name === 'sluice.idle-close')) {
        expect(spans.some((sp) => sp.name === 'sluice.commit' && sp.parentSpanContext?.spanId === b.spanContext().spanId), b.name).toBe(true);
      }
      // A restore span per lane opened: nothing to restore on a fresh store.
      const restores = spans.filter((sp) => sp.name === 'sluice.restore' && attr(sp, 'messaging.destination.name') === s.input);
      expect(restores.map((sp) => attr(sp, 'messaging.destination.partition.id')).sort()).toEqual(['0', '1']);

      // Local state gone: the next open restores it whole from the changelog, trace contexts included.
      exporter.reset();
      rmSync(join(s.dir, 'state'), { recursive: true, force: true });
      const again = await startPipeline(s.config, log);
      try {
        await waitForCommittedEnd(s.appId, s.input, 60_000);
        const deadline = Date.now() + 60_000;
        while (exporter.getFinishedSpans().filter((sp) => sp.name === 'sluice.restore' && attr(sp, 'messaging.destination.name') === s.input).length < PARTITIONS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      } finally {
        await again.stop();
      }
      await processor.forceFlush();
      const full = exporter.getFinishedSpans().filter((sp) => sp.name === 'sluice.restore' && attr(sp, 'messaging.destination.name') === s.input);
      expect(full.map((sp) => [attr(sp, 'messaging.destination.partition.id'), attr(sp, 'sluice.restore.mode')]).sort()).toEqual([
        ['0', 'full'],
        ['1', 'full'],
      ]);
      expect(full.every((sp) => (attr(sp, 'sluice.restore.records') as number) > 0)).toBe(true);
    } finally {
      await tracing!.stop();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
});
