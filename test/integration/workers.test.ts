// `workers: 2`: two worker threads in one `sluice run` process, each a group member with its own
// lanes. The partitions spread over both, the metrics endpoint sums them, the output is exact, and
// GET /aggregates answers from both workers' lanes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/kafka-broker.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import { KAFKA_CLIENTS, readAllCommitted, readToEnd } from '../helpers/kafka.ts';

function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe.each(KAFKA_CLIENTS)('worker threads on %s', (client) => {
  it('spread partitions over two workers in one process and sum their metrics', async () => {
    const s = await createScenario({ client,  name: 'workers', partitions: 4, events: 8_000, seed: 21 });
    const port = await freePort();
    writeFileSync(s.configFile, `${readFileSync(s.configFile, 'utf8').replace('http: { port: 0 }', `http: { port: ${port} }`)}workers: 2\n`);
    await produce(s);
    const p = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice.log'));
    // /readyz from the first answer on: the main thread serves while the workers start.
    const readyAnswers: number[] = [];
    const watching = (async () => {
      while (readyAnswers.at(-1) !== 200 && p.child.exitCode === null) {
        const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => undefined);
        if (status !== undefined) readyAnswers.push(status);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await waitForLog(p, /2 workers running/, 90_000);
      await watching;
      expect(readyAnswers[0], `readiness answers: ${readyAnswers.join(' ')}`).toBe(503);
      expect(readyAnswers.at(-1)).toBe(200);
      await waitUntilProcessed(s);
      // The first worker may drain a small backlog before the group hands the second one its
      // partitions; the second still has to open lanes for them.
      await waitForLog(p, /sluice\[w0\]: partition \d: lane open/, 30_000);
      await waitForLog(p, /sluice\[w1\]: partition \d: lane open/, 30_000);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metricSum(metrics, 'sluice_records_in_total')).toBe(s.records.length);
      await expectOracleOutput(s);
      // The main thread answers the probes for both workers, and takes events with a client of its own.
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      const readiness = (await ready.json()) as { partitions: { partition: string; state: string }[] };
      expect(ready.status, JSON.stringify(readiness)).toBe(200);
      expect(readiness.partitions.filter((p) => p.partition.startsWith(`${s.input}/`)).map((p) => p.state)).toEqual(['ready', 'ready', 'ready', 'ready']);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const posted = await fetch(`http://127.0.0.1:${port}/events`, { method: 'POST', body: JSON.stringify({ playerId: 'late-comer', ts: 0 }), headers: { 'content-type': 'application/json' } });
      expect(await posted.json()).toEqual({ accepted: 1, rejected: [] });
      // Each worker announced its lanes with the URL the main thread serves on (a worker's own
      // http.port is 0), and the main thread follows the announcements for query routing.
      const announced = await readToEnd(`${s.appId}-owners`);
      const inputKeys = announced.filter((r) => r.key?.startsWith(`${s.input}/`));
      expect(new Set(inputKeys.map((r) => r.key))).toEqual(new Set([0, 1, 2, 3].map((n) => `${s.input}/${n}`)));
      for (const r of inputKeys) expect((JSON.parse(r.value ?? 'null') as { url: string }).url).toBe(`http://127.0.0.1:${port}`);
      await waitForLog(p, new RegExp(`sluice: following owners topic ${s.appId}-owners`), 30_000);
      // GET /aggregates asks both workers: a final just written is answered, kept for queries.
      const finals = (await readAllCommitted(s.output, 1, 1000)).map((m) => JSON.parse(m.value ?? 'null') as { window: string; group: Record<string, unknown>; start: number; final: boolean; values: unknown }).filter((r) => r.final);
      expect(finals.length).toBeGreaterThan(10);
      for (const f of finals.slice(-10)) {
        const group = Object.entries(f.group).map(([k, v]) => `&group=${encodeURIComponent(`${k}=${String(v)}`)}`).join('');
        const res = await fetch(`http://127.0.0.1:${port}/aggregates?window=${f.window}${group}&from=${f.start}&to=${f.start}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { results: { group: unknown; final: boolean; values: unknown }[] };
        expect(body.results.filter((r) => r.final && JSON.stringify(r.group) === JSON.stringify(f.group)).map((r) => r.values)).toEqual([f.values]);
      }
    } finally {
      p.child.kill('SIGTERM');
      const exit = await p.exited;
      expect(exit.code, p.log()).toBe(0);
    }
  });
});
