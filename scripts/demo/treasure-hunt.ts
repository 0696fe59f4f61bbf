// `npm run demo` (the default): examples/treasure-hunt.yaml on Avro player actions. The players
// table comes first (compacted, keyed by playerId, partitioned like the input), then ~25 minutes
// of actions in the Confluent wire format under a schema registered for the run, with upstream
// retries (the same bytes again), actions by guests the table does not know (enrich-miss dead
// letters) and a few records that do not decode.
import { AvroSerializer, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import type { StreamClient } from '../../src/clients/port.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/formats/registry-client.ts';
import type { OutRecord } from '../../src/model/records.ts';
import { clock, latestOf, shown } from './read-back.ts';
import type { Result } from './read-back.ts';
import { seeded, sendAll } from './scenario.ts';
import type { DemoScenario, Produced } from './scenario.ts';

const PLAYERS = 40;
const TIERS = ['gold', 'silver', 'bronze'];
const REGIONS = ['eu', 'us', 'apac', 'latam'];
const ACTIONS = ['dig', 'trade', 'find'];
/** a share of the actions comes from guests, who have no row in the players table */
const GUEST_SHARE = 0.01;

const PLAYER_ACTION = {
  type: 'record',
  name: 'PlayerAction',
  namespace: 'treasure.hunt',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'playerId', type: 'string' },
    { name: 'action', type: { type: 'enum', name: 'Action', symbols: ACTIONS } },
    { name: 'points', type: 'int' },
    { name: 'score', type: 'int' },
    { name: 'ts', type: 'long' },
  ],
};

interface Action {
  eventId: string;
  playerId: string;
  action: string;
  points: number;
  score: number;
  ts: number;
}

function playerRows(topic: string): OutRecord[] {
  return Array.from({ length: PLAYERS }, (_, i) => ({
    topic,
    key: `player-${i}`,
    value: JSON.stringify({ playerId: `player-${i}`, tier: TIERS[i % TIERS.length], region: REGIONS[Math.floor(i / 3) % REGIONS.length] }),
  }));
}

function* actions(count: number): Generator<Action> {
  const base = Date.now() - 30 * 60_000;
  const rnd = seeded(7);
  for (let i = 0; i < count; i++) {
    const guest = rnd() < GUEST_SHARE;
    // A few players play far more than the rest, so the leaderboard has regulars.
    const playerId = guest ? `guest-${Math.floor(rnd() * 5)}` : `player-${Math.floor(rnd() ** 2 * PLAYERS)}`;
    const ts = base + Math.floor((i / count) * 25 * 60_000) - Math.floor(rnd() * 5000);
    yield { eventId: `e-${i}`, playerId, action: ACTIONS[i % 3]!, points: Math.floor(rnd() * 10), score: Math.floor(rnd() * 100), ts };
  }
}

/** Registers the action schema under `<input topic>-value` and writes the table, then the actions. */
async function produce(client: StreamClient, config: SluiceConfig, count: number): Promise<Produced> {
  const topic = config.input.topic;
  const registry = createRegistryClient(config.schemaRegistry!);
  const id = await registry.register(`${topic}-value`, { schemaType: 'AVRO', schema: JSON.stringify(PLAYER_ACTION) }, false);
  const serializer = new AvroSerializer(registry, SerdeType.VALUE, { useSchemaId: id, subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
  const players = config.tables.players!.source;
  if (!('topic' in players)) throw new Error('examples/treasure-hunt.yaml: the players table should be a topic');
  await sendAll(client, playerRows(players.topic));

  const records: OutRecord[] = [];
  const deadLetters = { 'enrich-miss': 0, undecodable: 0, 'invalid-wire-format': 0 };
  let i = 0;
  const rnd = seeded(11);
  for (const a of actions(count)) {
    const value = await serializer.serialize(topic, a);
    // An upstream retry sends the same bytes again: a duplicate, unless its player is unknown,
    // when each copy is an enrich-miss (a dead letter's id is never recorded).
    const copies = rnd() < 0.1 ? 2 : 1;
    for (let c = 0; c < copies; c++) records.push({ topic, key: a.playerId, value });
    if (a.playerId.startsWith('guest-')) deadLetters['enrich-miss'] += copies;
    // Now and then a record cut short (undecodable), or one written as JSON by mistake (no wire format).
    if (i % 5000 === 1) {
      records.push({ topic, key: a.playerId, value: value.subarray(0, 8) });
      deadLetters.undecodable++;
    }
    if (i % 20_000 === 2) {
      records.push({ topic, key: a.playerId, value: JSON.stringify(a) });
      deadLetters['invalid-wire-format']++;
    }
    i++;
  }
  await sendAll(client, records);
  return { records: records.length, deadLetters };
}

function describe(results: readonly Result[]): string[] {
  const players = latestOf(results, 'per_player_1m').sort((a, b) => Number(b.values.points) - Number(a.values.points));
  const regions = latestOf(results, 'per_region_10m_by_1m').sort((a, b) => String(a.group.region).localeCompare(String(b.group.region)));
  const board = latestOf(results, 'leaderboard_1m')[0];
  const top = (board?.values.top10 ?? []) as { member: string; value: number }[];
  const window = (r: Result | undefined) => (r === undefined ? '(none closed)' : `${clock(r.start)}-${clock(r.end)}`);
  return [
    `per player, minute ${window(players[0])}, the 5 with most points of ${players.length}:`,
    ...players.slice(0, 5).map((r) => `  ${String(r.group.playerId).padEnd(10)} ${String(r.group.tier).padEnd(6)} ${shown(r.values)}`),
    `per region, the 10 minutes ${window(regions[0])}:`,
    ...regions.map((r) => `  ${String(r.group.region).padEnd(6)} ${shown(r.values)}`),
    `leaderboard, minute ${window(board)}:`,
    ...top.map((t, rank) => `  ${String(rank + 1).padStart(2)}. ${t.member.padEnd(10)} ${t.value} points`),
  ];
}

export const treasureHunt: DemoScenario = { example: 'treasure-hunt.yaml', inputName: 'Avro player actions', produce, describe };
