// No accepted event is ever lost: producers keep posting to /events while the broker stops for
// longer than a request waits (http.ingestTimeout) and starts again. Every event a 202 counted is
// on the input topic exactly once; a request the outage caught answers 503 (or succeeds late),
// and its events are on the topic at most once: the producer is idempotent, and a 503'd send
// that the broker took after all is not retried by anyone here.
import { describe, expect, inject, it } from 'vitest';
import { restartBroker } from '../../scripts/kafka-broker.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { httpPipeline, postEvents } from '../helpers/http.ts';
import { KAFKA_CLIENTS, readToEnd } from '../helpers/kafka.ts';

const brokerDir = inject('kafkaBrokerDir');
const DOWN_MS = 8_000;
const POSTERS = 4;

interface Outcome {
  ids: string[];
  status: number | 'error';
  accepted: number;
}

describe.each(KAFKA_CLIENTS)('POST /events through a broker restart on %s', (client) => {
  // As broker-restart.test.ts: runs wherever the project runs the broker itself (always in CI).
  it.skipIf(brokerDir === '')('never loses an accepted event, and never writes one twice', async () => {
    const p = await httpPipeline(client, 'http-restart', { ingestTimeout: '3s' });
    const pipeline = await startPipeline(p.config, createLogger('error'));
    const outcomes: Outcome[] = [];
    let posting = true;
    let next = 0;
    const poster = async () => {
      while (posting) {
        const n = next++;
        const ids = Array.from({ length: 100 }, (_, i) => `${n}-${i}`);
        const events = ids.map((id, i) => ({ playerId: `player-${(n + i) % 50}`, ts: Date.now(), points: 1, id }));
        try {
          const res = await postEvents(p.url, events);
          const body = (await res.json()) as { accepted?: number };
          outcomes.push({ ids, status: res.status, accepted: body.accepted ?? 0 });
          if (res.status !== 202) await new Promise((r) => setTimeout(r, 200));
        } catch {
          outcomes.push({ ids, status: 'error', accepted: 0 });
        }
      }
    };
    try {
      const posters = Array.from({ length: POSTERS }, poster);
      while (outcomes.filter((o) => o.status === 202).length < 20) await new Promise((r) => setTimeout(r, 50));
      const before = outcomes.length;
      await restartBroker(brokerDir, 90_000, DOWN_MS);
      const duringOutage = outcomes.slice(before);
      // Until requests succeed again after the restart.
      const back = outcomes.length;
      while (outcomes.slice(back).filter((o) => o.status === 202).length < 20) await new Promise((r) => setTimeout(r, 50));
      posting = false;
      await Promise.all(posters);

      const statuses = new Map<string, number>();
      for (const o of outcomes) statuses.set(String(o.status), (statuses.get(String(o.status)) ?? 0) + 1);
      console.log(`[http-restart] ${outcomes.length} requests: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}; ${duringOutage.length} while the broker was down`);
      expect(duringOutage.some((o) => o.status === 503), 'the outage reached the callers as 503').toBe(true);
      expect(outcomes.every((o) => o.status === 202 || o.status === 503), 'only 202 or 503').toBe(true);

      const accepted = outcomes.filter((o) => o.status === 202);
      for (const o of accepted) expect(o.accepted).toBe(o.ids.length);
      const mustHave = accepted.flatMap((o) => o.ids);
      const onTopic = await readToEnd(p.input);
      const seen = new Map<string, number>();
      for (const m of onTopic) {
        const id = (JSON.parse(m.value ?? '') as { id: string }).id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      const missing = mustHave.filter((id) => !seen.has(id));
      const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      expect(missing, 'accepted events missing from the input topic').toEqual([]);
      expect(twice, 'events on the input topic more than once').toEqual([]);
      console.log(`[http-restart] ${mustHave.length} accepted events all on the topic once; ${onTopic.length - mustHave.length} more from requests answered 503`);
    } finally {
      posting = false;
      await pipeline.stop();
    }
  });
});
