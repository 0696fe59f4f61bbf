// The HTTP server with a fake producer: status codes, limits and auth. The real broker path is
// test/integration/http-api.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/kafka-broker.ts';
import type { RecordProducer } from '../../../src/clients/port.ts';
import type { OutRecord } from '../../../src/model/records.ts';
import { IngestProducer } from '../../../src/http/ingest-producer.ts';
import type { MemberProgress } from '../../../src/http/probes.ts';
import { MAX_CONCURRENT_INGESTS, startHttpServer } from '../../../src/http/server.ts';
import type { HttpServer } from '../../../src/http/server.ts';
import type { AggregatesSource } from '../../../src/http/aggregates.ts';

interface Fake {
  sent: OutRecord[][];
  /** how each send ends; default: acknowledged at once */
  behave: () => Promise<void>;
  opened: number;
  closed: number;
}

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const NO_AGGREGATES: AggregatesSource = { windows: [], ask: async () => [], ownerOf: () => undefined, self: 'http://127.0.0.1:1', progress: async () => [] };

async function start(over: { authToken?: string; maxBodyBytes?: number; timeoutMs?: number; maxPendingBytes?: number; format?: string; failure?: string; progress?: MemberProgress[] } = {}) {
  const fake: Fake = { sent: [], behave: async () => undefined, opened: 0, closed: 0 };
  const open = async (): Promise<RecordProducer> => {
    fake.opened++;
    return {
      send: async (records) => {
        await fake.behave();
        fake.sent.push([...records]);
      },
      close: async () => void fake.closed++,
    };
  };
  const port = await freePort();
  server = await startHttpServer({
    host: '127.0.0.1',
    port,
    maxBodyBytes: over.maxBodyBytes ?? 1024,
    authToken: over.authToken,
    readyMaxLag: 10,
    ingest: { topic: 'in', keyField: 'playerId', maxRecordBytes: 1000, format: over.format ?? 'json' },
    producer: new IngestProducer(open, over.timeoutMs ?? 2000, over.maxPendingBytes ?? 1 << 20),
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'sluice_up 1\n' }),
    failure: () => over.failure,
    progress: async () => over.progress ?? [{ joined: true, partitions: [] }],
    aggregates: NO_AGGREGATES,
  });
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${server!.url}/events`, { method: 'POST', body, headers });
  return { fake, post, url: server.url };
}

describe('POST /events', () => {
  it('answers 202 with the accepted count and the rejected items once the producer acknowledged', async () => {
    const { fake, post } = await start();
    const res = await post(JSON.stringify([{ playerId: 'a' }, { nope: 1 }, { playerId: 'b' }]));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2, rejected: [{ index: 1, reason: 'key field "playerId" is missing or null' }] });
    expect(fake.sent).toEqual([[expect.objectContaining({ key: 'a' }), expect.objectContaining({ key: 'b' })]]);
  });

  it('takes NDJSON, and bodies without a content type as JSON', async () => {
    const { fake, post } = await start();
    expect((await post('{"playerId":"a"}\n{"playerId":"b"}\n', { 'content-type': 'application/x-ndjson' })).status).toBe(202);
    const res = await fetch(`${(server as HttpServer).url}/events`, { method: 'POST', body: Buffer.from('{"playerId":"c"}') });
    expect(res.status).toBe(202);
    expect(fake.sent.flat().map((r) => r.key)).toEqual(['a', 'b', 'c']);
  });

  it('answers 400 for a body that is not JSON, producing nothing', async () => {
    const { fake, post } = await start();
    const res = await post('{"playerId":');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/not JSON/) });
    expect(fake.sent).toEqual([]);
  });

  it('answers 413 past maxBodyBytes', async () => {
    const { fake, post } = await start({ maxBodyBytes: 100 });
    expect((await post(JSON.stringify({ playerId: 'a', pad: 'x'.repeat(100) }))).status).toBe(413);
    expect(fake.sent).toEqual([]);
  });

  it('answers 401 without the bearer token or with a wrong one, when one is configured', async () => {
    const { fake, post } = await start({ authToken: 't0ken' });
    const event = JSON.stringify({ playerId: 'a' });
    const missing = await post(event);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post(event, { 'content-type': 'application/json', authorization: 'Bearer wrong' })).status).toBe(401);
    expect(fake.sent).toEqual([]);
    expect((await post(event, { 'content-type': 'application/json', authorization: 'Bearer t0ken' })).status).toBe(202);
    expect(fake.sent).toHaveLength(1);
  });

  it('answers 503 when the brokers do not acknowledge in time, and 503 when they refuse, with a fresh producer after a refusal', async () => {
    const { fake, post } = await start({ timeoutMs: 200 });
    fake.behave = () => new Promise((r) => setTimeout(r, 1000));
    const slow = await post(JSON.stringify({ playerId: 'a' }));
    expect(slow.status).toBe(503);
    expect(slow.headers.get('retry-after')).toBe('1');
    fake.behave = async () => {
      throw new Error('NOT_LEADER');
    };
    const refused = await post(JSON.stringify({ playerId: 'b' }));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/NOT_LEADER/) });
    fake.behave = async () => undefined;
    expect((await post(JSON.stringify({ playerId: 'c' }))).status).toBe(202);
    expect(fake.opened).toBe(2);
  });
});

describe('probes and metrics', () => {
  it('answers 415 when the pipeline reads a registry format, producing nothing', async () => {
    const { fake, post } = await start({ format: 'avro' });
    const res = await post(JSON.stringify({ playerId: 'a' }));
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/input.format avro/) });
    expect(fake.sent).toEqual([]);
  });

  it(`admits ${MAX_CONCURRENT_INGESTS} requests at a time and answers 503 past it, taking requests again once they are answered`, async () => {
    const { fake, post } = await start({ timeoutMs: 10_000 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.behave = () => held;
    const first = Array.from({ length: MAX_CONCURRENT_INGESTS }, (_, i) => post(JSON.stringify({ playerId: `p${i}` })));
    // Every admitted request waits in the producer: the next one is turned away.
    for (let i = 0; i < 50 && fake.opened === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    const over = await post(JSON.stringify({ playerId: 'late' }));
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('1');
    release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual(Array(MAX_CONCURRENT_INGESTS).fill(202));
    expect((await post(JSON.stringify({ playerId: 'again' }))).status).toBe(202);
  });

  it('answers 503 at once while the events of earlier sends, timed out ones too, hold maxPendingBytes', async () => {
    const { fake, post } = await start({ timeoutMs: 100, maxPendingBytes: 100 });
    let release!: () => void;
    fake.behave = () => new Promise<void>((resolve) => (release = resolve));
    // Times out, and its events stay with the producer until the brokers answer.
    expect((await post(JSON.stringify({ playerId: 'a', pad: 'x'.repeat(80) }))).status).toBe(503);
    const refused = await post(JSON.stringify({ playerId: 'b', pad: 'y'.repeat(80) }));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/still wait for the brokers/) });
    release();
    await new Promise((r) => setTimeout(r, 50));
    fake.behave = async () => undefined;
    expect((await post(JSON.stringify({ playerId: 'c' }))).status).toBe(202);
  });

  it('serves /metrics with its content type', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(await res.text()).toBe('sluice_up 1\n');
  });

  it('answers /healthz 200 while the pipeline runs and 503 once it failed', async () => {
    expect((await fetch(`${(await start()).url}/healthz`)).status).toBe(200);
    await server?.close();
    const res = await fetch(`${(await start({ failure: 'SLUICE_INPUT_UNREADABLE: corrupt batch' })).url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ healthy: false, reason: 'SLUICE_INPUT_UNREADABLE: corrupt batch' });
  });

  it('answers /readyz 503 with the reasons until every partition is restored and caught up', async () => {
    const restoring = await start({ progress: [{ joined: true, partitions: [{ partition: 'in/0', open: false, lag: undefined }] }] });
    const res = await fetch(`${restoring.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, reasons: ['in/0 is restoring its state'], partitions: [{ partition: 'in/0', state: 'restoring', lag: null }] });
    await server?.close();
    const ready = await start({ progress: [{ joined: true, partitions: [{ partition: 'in/0', open: true, lag: 3 }] }] });
    expect((await fetch(`${ready.url}/readyz`)).status).toBe(200);
  });

  it('answers 404 elsewhere', async () => {
    expect((await fetch(`${(await start()).url}/nowhere`)).status).toBe(404);
  });

  it('refuses a port in use with SLUICE_HTTP_UNAVAILABLE', async () => {
    const { url } = await start();
    const port = Number(new URL(url).port);
    await expect(startHttpServer({ host: '127.0.0.1', port, maxBodyBytes: 1, authToken: undefined, readyMaxLag: 1, ingest: { topic: 'in', keyField: 'k', maxRecordBytes: 1, format: 'json' }, producer: new IngestProducer(async () => ({ send: async () => undefined, close: async () => undefined }), 1, 1), metrics: async () => ({ contentType: '', body: '' }), failure: () => undefined, progress: async () => [], aggregates: NO_AGGREGATES })).rejects.toMatchObject({ code: 'SLUICE_HTTP_UNAVAILABLE', message: expect.stringMatching(/EADDRINUSE/) });
  });
});
