// `npm run demo`: the shipped example pipeline (examples/player-stats.yaml) end to end on a real
// broker. It starts the local broker if none is given, produces a burst of treasure-hunt player
// actions (with duplicates and a few bad records), runs sluice in-process until every event is
// committed, then shows what came out. Topics and state are per run, so runs never mix.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startPipeline } from '../src/entry/app.ts';
import { Kafka, logLevel } from '../src/clients/kafkajs/loader.ts';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { counterTotal } from '../src/observability/metrics.ts';
import { installWarningFilter } from '../src/observability/warnings.ts';
import { cacheRoot, runningDevBroker, startBroker } from './kafka-broker.ts';

installWarningFilter();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EVENTS = Number(process.env.DEMO_EVENTS ?? 50_000);
const PARTITIONS = 4;

async function brokers(): Promise<string> {
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
  const dir = join(cacheRoot(), 'dev-broker');
  const port = Number(process.env.KAFKA_PORT ?? 9092);
  const running = await runningDevBroker(dir, port);
  if (running) return running;
  console.log('demo: starting the local Kafka broker (npm run kafka:down stops it)');
  return (await startBroker({ port, dir })).brokers;
}

/** Player actions over ~25 minutes of event time, with retries (duplicate ids) and bad records. */
function events(): { partition: number; key: string; value: string }[] {
  const out: { partition: number; key: string; value: string }[] = [];
  const base = Date.now() - 30 * 60_000;
  const actions = ['dig', 'trade', 'find'];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < EVENTS; i++) {
    const player = `player-${Math.floor(rnd() * 40)}`;
    const partition = Number(player.split('-')[1]) % PARTITIONS;
    const ts = base + Math.floor((i / EVENTS) * 25 * 60_000) - Math.floor(rnd() * 5000);
    const e = { eventId: `e-${i}`, playerId: player, action: actions[i % 3], points: Math.floor(rnd() * 10), score: Math.floor(rnd() * 100), ts };
    out.push({ partition, key: player, value: JSON.stringify(e) });
    if (rnd() < 0.1) out.push({ partition, key: player, value: JSON.stringify(e) }); // an upstream retry
    if (i % 5000 === 0) out.push({ partition, key: player, value: '{"eventId": "broken' }); // malformed
  }
  return out;
}

async function main(): Promise<void> {
  const broker = await brokers();
  const run = randomBytes(3).toString('hex');
  const raw = parse(readFileSync(join(root, 'examples/player-stats.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  raw.kafka!.brokers = broker.split(',');
  raw.application!.id = `player-stats-demo-${run}`;
  raw.application!.stateDir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  for (const section of ['input', 'output', 'deadLetter'] as const) raw[section]!.topic = `demo-${run}-${String(raw[section]!.topic)}`;
  const config = parseConfig(raw);

  const kafka = new Kafka({ clientId: 'sluice-demo', brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: config.input.topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const records = events();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < records.length; i += 5000) await producer.send({ topic: config.input.topic, acks: -1, messages: records.slice(i, i + 5000) });
  await producer.disconnect();
  console.log(`demo: produced ${records.length} player actions to ${config.input.topic} (${PARTITIONS} partitions) on ${broker}`);

  const started = Date.now();
  const pipeline = await startPipeline(config, createLogger('warn'));
  const ends = await admin.fetchTopicOffsets(config.input.topic);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = pipeline.metrics;
    const processed = await counterTotal(m.recordsIn);
    console.log(`demo: ${processed}/${records.length} events, ${await counterTotal(m.duplicates)} duplicates dropped, ${await counterTotal(m.deadLetters)} dead letters, ${await counterTotal(m.outputs)} aggregates, ${((Date.now() - started) / 1000).toFixed(0)}s`);
    const committed = (await admin.fetchOffsets({ groupId: config.application.id, topics: [config.input.topic] }))[0]?.partitions ?? [];
    if (ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.high)) break;
  }
  const seconds = (Date.now() - started) / 1000;
  await pipeline.stop();
  console.log(`demo: done in ${seconds.toFixed(1)}s (${Math.round(records.length / seconds)} events/s, exactly-once).`);
  console.log(`demo: read the results with read_committed from ${config.output.topic}; dead letters (with sluice.reason headers) in ${config.deadLetter.topic}.`);
  await admin.disconnect();
}

main().catch((err: unknown) => {
  console.error(`demo: ${(err as Error).message}`);
  process.exitCode = 1;
});
