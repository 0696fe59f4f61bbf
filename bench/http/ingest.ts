// `node bench/http/ingest.ts [--seconds 10] [--rounds 3] [--concurrency 16] [--brokers host:port]`:
// requests/s and latency (p50, p99) of POST /events with 100-event bodies on the two candidate
// servers, fastify (src/http/server.ts) and bare node:http (node-server.ts), each in a process of
// its own, alternating rounds so that a noisy neighbour hits both. Twice: with sends acknowledged
// at once (the framework's own cost) and through an idempotent producer to a real broker (what a
// caller sees). Writes bench/results/<time>-http.json. See bench/README.md, "HTTP server".
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../scripts/kafka-broker.ts';
import { machine } from '../report/results.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);

/** 100 events of about 120 bytes each, as an array body. */
function body(n: number): Buffer {
  const events = Array.from({ length: 100 }, (_, i) => ({ playerId: `player-${(n * 100 + i) % 1000}`, ts: Date.now(), action: 'dig', points: i % 7, eventId: `${n}-${i}` }));
  return Buffer.from(JSON.stringify(events));
}

async function startServer(kind: string, brokers: string, topic: string) {
  const port = await freePort();
  const child = fork(join(HERE, 'serve.ts'), [kind, String(port), brokers, topic], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return { port, stop: () => new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGKILL'))) };
}

function post(agent: Agent, port: number, payload: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/events', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: 'Bearer bench-token' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function load(port: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const payloads = Array.from({ length: 64 }, (_, i) => body(i));
  const latencies: number[] = [];
  let failed = 0;
  let n = 0;
  const until = Date.now() + seconds * 1000;
  // A second of warm-up (JIT, connections, the producer's first metadata) is not counted.
  const warmUntil = Date.now() + 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const start = performance.now();
        const status = await post(agent, port, payloads[n++ % payloads.length]!);
        if (Date.now() < warmUntil) continue;
        if (status === 202) latencies.push(performance.now() - start);
        else failed++;
      }
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const measured = seconds - 1;
  return { requestsPerSecond: Math.round(latencies.length / measured), eventsPerSecond: Math.round((latencies.length * 100) / measured), p50Ms: +quantile(latencies, 0.5).toFixed(2), p99Ms: +quantile(latencies, 0.99).toFixed(2), failed };
}

const runs: Record<string, unknown>[] = [];
const topic = `bench-http-${Date.now()}`;
for (const producer of ['none', 'kafka'] as const) {
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const kind of round % 2 === 1 ? ['fastify', 'node'] : ['node', 'fastify']) {
      const server = await startServer(kind, producer === 'none' ? 'none' : args.brokers, topic);
      try {
        const result = { server: kind, producer, round, ...(await load(server.port)) };
        console.log(JSON.stringify(result));
        runs.push(result);
      } finally {
        await server.stop();
      }
    }
  }
}

const summary: Record<string, unknown> = {};
for (const producer of ['none', 'kafka']) {
  for (const server of ['fastify', 'node']) {
    const mine = runs.filter((r) => r.producer === producer && r.server === server) as unknown as { requestsPerSecond: number; p99Ms: number }[];
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    summary[`${producer}/${server}`] = { requestsPerSecondMedian: median(mine.map((r) => r.requestsPerSecond)), p99MsMedian: median(mine.map((r) => r.p99Ms)), rounds: mine.length };
  }
}
console.log(JSON.stringify(summary, null, 2));
const out = join(HERE, '..', 'results', `${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-http.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ kind: 'http-ingest', machine: machine(), options: { seconds, rounds: Number(args.rounds), concurrency, eventsPerRequest: 100, brokers: args.brokers }, summary, runs }, null, 2)}\n`);
console.log(`bench: wrote ${out}`);
