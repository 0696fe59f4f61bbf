// Tracing from worker threads, the way an operator turns it on: `sluice run` with `workers: 2` and
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector (here a plain HTTP server taking OTLP
// http/json). Each worker starts its own SDK and exports its own spans; SIGTERM flushes them (the
// batch span processor's delay is set far beyond the test, so spans not flushed then are lost).
// A collector that is down costs the spans, not the exit code.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAllCommitted } from '../helpers/kafka.ts';
import { createScenario, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpSpan {
  name: string;
  attributes: { key: string; value: OtlpValue }[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const valueOf = (attrs: { key: string; value: OtlpValue }[], key: string) => {
  const v = attrs.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
};

/** An OTLP/HTTP (JSON) trace receiver: every span with its resource's attributes. */
async function collector() {
  const spans: { span: OtlpSpan; resource: { key: string; value: OtlpValue }[] }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as OtlpExport;
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ span, resource: rs.resource.attributes });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { spans, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('tracing with worker threads', () => {
  it('each worker exports its lanes\' spans over OTLP; outputs carry traceparent headers', async () => {
    const s = await createScenario({ name: 'trace-workers', partitions: 4, events: 2_000, seed: 5 });
    appendFileSync(s.configFile, 'workers: 2\n');
    await produce(s);
    const otlp = await collector();
    const p = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice.log'), { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      await waitForLog(p, /2 workers running/, 90_000);
      await waitUntilProcessed(s);
      await waitForLog(p, /sluice\[w0\]: partition \d: lane open/, 30_000);
      await waitForLog(p, /sluice\[w1\]: partition \d: lane open/, 30_000);
      const out = await readAllCommitted(s.output, s.oracle.finals.size);
      expect(out.length).toBe(s.oracle.finals.size);
      expect(out.every((m) => /^00-[\da-f]{32}-[\da-f]{16}-01$/.test(m.headers.traceparent ?? ''))).toBe(true);
    } finally {
      p.child.kill('SIGTERM');
      const exit = await p.exited;
      await otlp.close();
      expect(exit.code, p.log()).toBe(0);
    }
    expect(p.log()).toMatch(/tracing on/);
    const batches = otlp.spans.filter((x) => x.span.name === 'sluice.batch' && valueOf(x.span.attributes, 'messaging.destination.name') === s.input);
    // Every record of every partition is in some exported batch span (the last ones flushed at SIGTERM).
    expect(batches.reduce((n, x) => n + Number(valueOf(x.span.attributes, 'sluice.batch.records') ?? 0), 0)).toBe(s.records.length);
    // Two SDKs, one per worker (two service instances), each with lanes it opened. (Which worker
    // processed the records depends on how fast the group gave the second one its partitions.)
    const restores = otlp.spans.filter((x) => x.span.name === 'sluice.restore' && valueOf(x.span.attributes, 'messaging.destination.name') === s.input);
    expect(new Set(restores.map((x) => valueOf(x.resource, 'service.instance.id'))).size).toBe(2);
    expect(new Set(batches.map((x) => valueOf(x.resource, 'service.name')))).toEqual(new Set(['sluice']));
    const results = otlp.spans.filter((x) => x.span.name === 'sluice.window.result');
    expect(results.length).toBeGreaterThanOrEqual(s.oracle.finals.size);
  });

  // With one worker the pipeline runs in the main thread: a rejected stop was exit code 70 there.
  it.each([1, 2])('exits 0 on SIGTERM when the collector refuses connections, warning that spans were lost (workers: %i)', async (workers) => {
    const s = await createScenario({ name: 'trace-down', partitions: 2, events: 300, seed: 7 });
    appendFileSync(s.configFile, `workers: ${workers}\n`);
    await produce(s);
    // A port nobody listens on.
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const p = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice.log'), { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    try {
      await waitForLog(p, workers === 1 ? /pipeline .* running/ : /2 workers running/, 90_000);
      await waitUntilProcessed(s);
    } finally {
      p.child.kill('SIGTERM');
    }
    const exit = await p.exited;
    expect(exit.code, p.log()).toBe(0);
    expect(p.log()).toMatch(/tracing on/);
    expect(p.log()).toMatch(/tracing: flushing spans and shutting the OpenTelemetry SDK down (failed|did not finish).*spans not yet exported are lost/);
    expect(p.log()).not.toMatch(/internal error|Unhandled/i);
  });
});
