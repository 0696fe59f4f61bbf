// A small stream for the format tests: player events in one minute, a closing event that ends
// it, and the per-player results that minute must give, whatever encoding carries the events.
// Each test adds its own malformed records and checks their dead letters.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { SluiceConfig, SluiceConfigInput } from '../../src/config/schema.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from './kafka.ts';
import type { ReadMessage } from './kafka.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

export type PlayerEvent = { eventId: string; playerId: string; points: number; ts: number };

const MINUTE = 60_000;
const BASE = Date.UTC(2024, 0, 1);

/** 30 events of two players within minute 0, then one at minute 2 that closes it. */
export function playerEvents(): PlayerEvent[] {
  const events: PlayerEvent[] = [];
  for (let i = 0; i < 30; i++) events.push({ eventId: `e${i}`, playerId: i % 3 === 0 ? 'p1' : 'p2', points: i, ts: BASE + i * 1000 });
  events.push({ eventId: 'close', playerId: 'p1', points: 0, ts: BASE + 2 * MINUTE });
  return events;
}

/** The finals of minute 0 per player, as the JSON output writes them. */
export function expectedFinals(): Map<string, unknown> {
  const finals = new Map<string, unknown>();
  for (const player of ['p1', 'p2']) {
    const mine = playerEvents().filter((e) => e.playerId === player && e.ts < BASE + MINUTE);
    const values = { events: mine.length, points: mine.reduce((s, e) => s + e.points, 0) };
    finals.set(JSON.stringify(['per_player', player, BASE]), { window: 'per_player', group: { playerId: player }, start: BASE, end: BASE + MINUTE, final: true, values });
  }
  return finals;
}

export interface FormatTopics {
  appId: string;
  input: string;
  output: string;
  dlq: string;
  stateDir: string;
}

export async function formatTopics(name: string): Promise<FormatTopics> {
  const appId = uniqueName(name);
  const topics = { appId, input: `${appId}-in`, output: `${appId}-out`, dlq: `${appId}-dlq`, stateDir: join(mkdtempSync(join(tmpdir(), `sluice-${name}-`)), 'state') };
  await createTopics([{ topic: topics.input, numPartitions: 1 }]);
  return topics;
}

/** The pipeline over playerEvents on `client`; `extra` sets formats, registry and schema file. */
export function formatConfig(t: FormatTopics, client: KafkaClientName, extra: { input?: Partial<SluiceConfigInput['input']>; output?: Partial<SluiceConfigInput['output']>; schemaRegistry?: SluiceConfigInput['schemaRegistry'] }): SluiceConfig {
  return parseConfig({
    kafka: { brokers: brokers(), client, clientId: 'sluice-test', sessionTimeout: '6s' },
    application: { id: t.appId, stateDir: t.stateDir },
    input: { topic: t.input, key: 'playerId', eventTime: { field: 'ts' }, ...extra.input },
    dedupe: { idField: 'eventId', ttl: '1m' },
    windows: [{ name: 'per_player', groupBy: ['playerId'], tumbling: '1m', aggregates: { events: 'count()', points: 'sum(points)' } }],
    output: { topic: t.output, ...extra.output },
    deadLetter: { topic: t.dlq },
    http: { port: 0 },
    ...(extra.schemaRegistry === undefined ? {} : { schemaRegistry: extra.schemaRegistry }),
  });
}

/** Produces `values` (keyed by player) in order, runs the pipeline until it committed them, stops it. */
export async function runPipeline(t: FormatTopics, config: SluiceConfig, records: readonly { key: string; value: Buffer | string }[]): Promise<void> {
  await produceToPartitions(t.input, records.map((r) => ({ partition: 0, key: r.key, value: r.value as string })));
  const pipeline = await startPipeline(config, log);
  try {
    await waitForCommittedEnd(t.appId, t.input, 60_000);
  } finally {
    await pipeline.stop();
  }
}

/** Reads every committed dead letter: at least `count`, then until quiet. */
export async function deadLetters(t: FormatTopics, count: number): Promise<ReadMessage[]> {
  const dead = await readAllCommitted(t.dlq, count);
  expect(dead.length, 'one dead letter per bad record').toBe(count);
  return dead;
}
