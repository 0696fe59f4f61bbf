// The HTTP server of a running pipeline against the real broker, on both clients: /readyz through
// startup, events posted to /events land on the input topic keyed and partitioned as an upstream
// producer would put them and come out of the pipeline as aggregates, and /metrics is on http.port.
import { describe, expect, it } from 'vitest';
import { murmur2 } from '../../src/model/key-partition.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { HTTP_TEST_PARTITIONS, httpPipeline, postEvents } from '../helpers/http.ts';
import { KAFKA_CLIENTS, readAllCommitted, readTopic } from '../helpers/kafka.ts';

const PARTITIONS = HTTP_TEST_PARTITIONS;
const WINDOW_START = 1_700_000_040_000;

/** Every /readyz answer until it says ready: status and body. */
async function watchReadiness(url: string, until: Promise<unknown>): Promise<{ status: number; body: { reasons: string[] } }[]> {
  const seen: { status: number; body: { reasons: string[] } }[] = [];
  let started = false;
  void until.then(() => (started = true), () => (started = true));
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      seen.push({ status: res.status, body: (await res.json()) as { reasons: string[] } });
      if (res.status === 200) return seen;
    } catch {
      // not listening yet
      if (started) throw new Error('the pipeline started but /readyz does not answer');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(KAFKA_CLIENTS)('HTTP API on %s', (client) => {
  it('is not ready until assigned and restored, then takes events through to aggregates', async () => {
    const p = await httpPipeline(client, 'http-api');
    const starting = startPipeline(p.config, createLogger('warn'));
    const readiness = await watchReadiness(p.url, starting);
    const pipeline = await starting;
    try {
      expect(readiness[0], 'the first answer: not ready').toMatchObject({ status: 503, body: { reasons: expect.arrayContaining([expect.stringMatching(/not yet assigned|restoring/)]) } });
      expect((await fetch(`${p.url}/healthz`)).status).toBe(200);

      // 40 players, 5 requests of 100 events: each player 12 or 13 events worth 1..3 points.
      const events = Array.from({ length: 500 }, (_, i) => ({ playerId: `player-${i % 40}`, ts: WINDOW_START + i, points: (i % 3) + 1 }));
      for (let i = 0; i < events.length; i += 100) {
        const res = await postEvents(p.url, [...events.slice(i, i + 100), { points: 1 }, 'not an object']);
        expect(await res.json()).toEqual({ accepted: 100, rejected: [{ index: 100, reason: 'key field "playerId" is missing or null' }, { index: 101, reason: 'not a JSON object' }] });
        expect(res.status).toBe(202);
      }
      const input = await readTopic(p.input, { done: (m) => m.length >= events.length });
      expect(input).toHaveLength(events.length);
      for (const m of input) {
        const event = JSON.parse(m.value ?? '') as { playerId: string };
        expect(m.key).toBe(event.playerId);
        expect(m.partition, 'the Java client partitioner').toBe((murmur2(m.key ?? '') & 0x7fffffff) % PARTITIONS);
      }

      const expected = new Map<string, { n: number; points: number }>();
      for (const e of events) {
        const v = expected.get(e.playerId) ?? { n: 0, points: 0 };
        expected.set(e.playerId, { n: v.n + 1, points: v.points + e.points });
      }
      const latest = new Map<string, { n: number; points: number }>();
      await readTopic(p.output, {
        timeoutMs: 60_000,
        done: (msgs) => {
          for (const m of msgs) {
            const out = JSON.parse(m.value ?? '') as { group: { playerId: string }; values: { n: number; points: number } };
            latest.set(out.group.playerId, out.values);
          }
          return [...expected].every(([player, v]) => latest.get(player)?.n === v.n);
        },
      });
      expect(Object.fromEntries(latest)).toEqual(Object.fromEntries(expected));

      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^sluice_records_in_total\\{[^}]*\\} \\d+$`, 'm'));
      const ready = await fetch(`${p.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { partitions: unknown[] }).partitions).toHaveLength(PARTITIONS);
    } finally {
      await pipeline.stop();
    }
    await expect(fetch(`${p.url}/healthz`), 'the server stops with the pipeline').rejects.toThrow();
  });
});

describe('HTTP API with a bearer token', () => {
  it('refuses events without the token read from the environment, and takes them with it', async () => {
    const variable = `SLUICE_TEST_TOKEN_${process.pid}`;
    process.env[variable] = 'ingest-token';
    const p = await httpPipeline('kafkajs', 'http-token', { authToken: { env: variable } });
    const pipeline = await startPipeline(p.config, createLogger('warn'));
    try {
      const event = { playerId: 'p1', ts: WINDOW_START, points: 1 };
      expect((await postEvents(p.url, [event])).status).toBe(401);
      expect((await postEvents(p.url, [event], { authorization: 'Bearer wrong-token' })).status).toBe(401);
      expect((await postEvents(p.url, [event], { authorization: 'Bearer ingest-token' })).status).toBe(202);
      expect(await readAllCommitted(p.input, 1)).toHaveLength(1);
    } finally {
      await pipeline.stop();
      delete process.env[variable];
    }
  });
});
