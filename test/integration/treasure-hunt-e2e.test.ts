// The processors together, under SIGKILLs: Avro player actions (with upstream retries) through the
// real schema registry, enriched from a co-partitioned players table and a global regions table,
// deduplicated, and aggregated per player and tier, per player session, per region name across
// partitions, and into a top-3 leaderboard over all partitions. `sluice run` is killed at random instants while input
// trickles in and restarted each time; what it committed must equal the oracle below, which
// computes the same lookups and windows from the generated stream by itself.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSerializer, SchemaRegistryClient, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import { describe, expect, it } from 'vitest';
import { mulberry32, partitionFor } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from '../helpers/kafka.ts';
import { schemaRegistryUrl } from '../helpers/schema-registry.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import { BASE, IN_TABLE, MINUTE, PARTITIONS, player, PLAYERS, REGION_NAMES } from '../helpers/players.ts';

const CLOSE_AT = BASE + 60 * MINUTE;
const KILLS = 3;
/** a player quiet this long starts a new session */
const GAP = 10_000;

const PLAYER_ACTION = {
  type: 'record',
  name: 'PlayerAction',
  namespace: 'sluice.test',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'playerId', type: 'string' },
    { name: 'action', type: 'string' },
    { name: 'points', type: 'long' },
    { name: 'ts', type: 'long' },
  ],
};

interface Action {
  eventId: string;
  playerId: string;
  action: string;
  points: number;
  ts: number;
}

/** Actions in event-time order, a fifth of them sent again a few records later (upstream retries), then one closing action per partition. */
function generate(count: number, seed: number): Action[] {
  const rng = mulberry32(seed);
  const out: Action[] = [];
  const retries: { at: number; action: Action }[] = [];
  for (let i = 0; i < count; i++) {
    const a = { eventId: `e${i}`, playerId: `p${Math.floor(rng() * PLAYERS)}`, action: ['dig', 'trade', 'find'][Math.floor(rng() * 3)]!, points: 1 + Math.floor(rng() * 10), ts: BASE + i * 200 };
    out.push(a);
    if (rng() < 0.2) retries.push({ at: i + 1 + Math.floor(rng() * 20), action: a });
    for (let r = retries.findIndex((x) => x.at <= i); r >= 0; r = retries.findIndex((x) => x.at <= i)) out.push(retries.splice(r, 1)[0]!.action);
  }
  for (const r of retries) out.push(r.action);
  for (let p = 0; p < PARTITIONS; p++) {
    const closer = Array.from({ length: IN_TABLE }, (_, i) => player(i)).find((pl) => pl.region !== 'xx' && partitionFor(pl.playerId, PARTITIONS) === p)!;
    out.push({ eventId: `close-${p}`, playerId: closer.playerId, action: 'dig', points: 0, ts: CLOSE_AT });
  }
  return out;
}

type Finals = Map<string, unknown>;

/** Every final the stream owes, with its values as docs/output.md writes them. */
function oracle(actions: readonly Action[]): Finals {
  const seen = new Set<string>();
  const sums = new Map<string, { n: number; points: number }>();
  const boards = new Map<number, Map<string, number>>();
  /** per player: the open session's start, last event time and sums */
  const sessions = new Map<string, { start: number; last: number; n: number; points: number }[]>();
  const add = (key: string, points: number) => {
    const v = sums.get(key) ?? { n: 0, points: 0 };
    v.n++;
    v.points += points;
    sums.set(key, v);
  };
  for (const a of actions) {
    const i = Number(a.playerId.slice(1));
    if (seen.has(a.eventId) || i >= IN_TABLE) continue;
    const { tier, region } = player(i);
    const name = REGION_NAMES[region];
    if (name === undefined) continue;
    seen.add(a.eventId);
    const start = a.ts - (a.ts % MINUTE);
    if (start >= CLOSE_AT) continue;
    add(JSON.stringify(['per_player_1m', a.playerId, tier, start]), a.points);
    add(JSON.stringify(['per_region_1m', name, start]), a.points);
    const board = boards.get(start) ?? new Map<string, number>();
    board.set(a.playerId, (board.get(a.playerId) ?? 0) + a.points);
    boards.set(start, board);
    // Each partition's events come in event-time order (retries are duplicates), so a player's
    // session grows at its end, or a new one starts after a quiet gap.
    const own = sessions.get(a.playerId) ?? [];
    const open = own.at(-1);
    if (open !== undefined && a.ts - open.last < GAP) {
      open.last = a.ts;
      open.n++;
      open.points += a.points;
    } else own.push({ start: a.ts, last: a.ts, n: 1, points: a.points });
    sessions.set(a.playerId, own);
  }
  const finals: Finals = new Map();
  for (const [key, v] of sums) finals.set(key, v);
  for (const [playerId, own] of sessions) for (const x of own) finals.set(JSON.stringify(['sessions', playerId, x.start]), { n: x.n, points: x.points });
  for (const [start, board] of boards) {
    const top = [...board].sort(([m1, v1], [m2, v2]) => v2 - v1 || (m1 < m2 ? -1 : 1)).slice(0, 3);
    finals.set(JSON.stringify(['leaderboard_1m', start]), { top3: top.map(([member, value]) => ({ member, value })) });
  }
  return finals;
}

async function setUp(client: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-treasure-'));
  const appId = uniqueName('treasure');
  const t = { input: `${appId}-in`, output: `${appId}-out`, dlq: `${appId}-dlq`, players: `${appId}-players`, regions: `${appId}-regions` };
  const compact = [{ name: 'cleanup.policy', value: 'compact' }];
  await createTopics([
    { topic: t.input, numPartitions: PARTITIONS },
    { topic: t.players, numPartitions: PARTITIONS, configEntries: compact },
    { topic: t.regions, numPartitions: 2, configEntries: compact },
  ]);
  await produceToPartitions(t.players, Array.from({ length: IN_TABLE }, (_, i) => ({ partition: partitionFor(`p${i}`, PARTITIONS), key: `p${i}`, value: JSON.stringify(player(i)) })));
  await produceToPartitions(t.regions, Object.entries(REGION_NAMES).map(([code, name], i) => ({ partition: i % 2, key: code, value: JSON.stringify({ regionName: name }) })));
  const url = await schemaRegistryUrl();
  const registry = new SchemaRegistryClient({ baseURLs: [url], createAxiosDefaults: { timeout: 10_000 } });
  const id = await registry.register(`${t.input}-value`, { schemaType: 'AVRO', schema: JSON.stringify(PLAYER_ACTION) });
  const serializer = new AvroSerializer(registry, SerdeType.VALUE, { useSchemaId: id, subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
  const q = JSON.stringify;
  const configFile = join(dir, 'pipeline.yaml');
  writeFileSync(
    configFile,
    [
      `kafka: { brokers: [${brokers().map((b) => q(b)).join(', ')}], client: ${client}, clientId: sluice-test, sessionTimeout: 6s }`,
      `application: { id: ${q(appId)}, stateDir: ${q(join(dir, 'state'))} }`,
      `schemaRegistry: { url: ${q(url)}, timeout: 10s }`,
      `input: { topic: ${q(t.input)}, format: avro, key: playerId, eventTime: { field: ts } }`,
      'dedupe: { idField: eventId, ttl: 10m }',
      'tables:',
      `  players: { source: { topic: ${q(t.players)} } }`,
      `  regions: { source: { topic: ${q(t.regions)} }, global: true }`,
      'enrich:',
      '  - { table: players, on: playerId, fields: [tier, region], missing: dead-letter }',
      '  - { table: regions, on: region, fields: [regionName] }',
      'windows:',
      '  - { name: per_player_1m, groupBy: [playerId, tier], tumbling: 1m, aggregates: { n: count(), points: sum(points) } }',
      `  - { name: sessions, groupBy: [playerId], session: { gap: ${GAP / 1000}s }, aggregates: { n: count(), points: sum(points) } }`,
      '  - { name: per_region_1m, groupBy: [regionName], tumbling: 1m, aggregates: { n: count(), points: sum(points) } }',
      '  - { name: leaderboard_1m, groupBy: [], tumbling: 1m, aggregates: { top3: "topK(playerId, 3, by: sum(points))" } }',
      `output: { topic: ${q(t.output)} }`,
      `deadLetter: { topic: ${q(t.dlq)} }`,
      'http: { port: 0 }',
      '',
    ].join('\n'),
  );
  const toRecords = async (actions: readonly Action[]) =>
    Promise.all(actions.map(async (a) => ({ partition: partitionFor(a.playerId, PARTITIONS), key: a.playerId, value: await serializer.serialize(t.input, a) })));
  return { dir, appId, configFile, ...t, toRecords };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(KAFKA_CLIENTS)('treasure hunt end to end on %s', (client) => {
  it(`Avro, co-partitioned and global tables, dedupe, sessions, a cross-partition window and a leaderboard survive ${KILLS} SIGKILLs: equals the oracle`, async () => {
    const s = await setUp(client);
    const actions = generate(9000, 11);
    const expected = oracle(actions);
    const rng = mulberry32(5);
    const per = Math.ceil(actions.length / (KILLS + 1));
    for (let k = 0; k < KILLS; k++) {
      const slice = actions.slice(k * per, (k + 1) * per);
      const p = runSluice(['run', '--config', s.configFile], join(s.dir, `sluice-${k}.log`));
      await waitForLog(p, /lane open/, 90_000);
      // The kill lands while the slice trickles in, so batches are in flight.
      const steps = 12;
      const step = Math.ceil(slice.length / steps);
      const killAfter = 3 + Math.floor(rng() * (steps - 6));
      for (let i = 0; i < killAfter; i++) {
        await produceToPartitions(s.input, await s.toRecords(slice.slice(i * step, (i + 1) * step)));
        await sleep(50);
      }
      p.child.kill('SIGKILL');
      await p.exited;
      await produceToPartitions(s.input, await s.toRecords(slice.slice(killAfter * step)));
    }
    await produceToPartitions(s.input, await s.toRecords(actions.slice(KILLS * per)));
    const last = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice-last.log'));
    try {
      await waitForCommittedEnd(s.appId, s.input, 240_000);
      const out = await readAllCommitted(s.output, expected.size, 4000, 120_000);
      const keys = out.map((m) => m.key ?? '');
      expect(keys.filter((k, i) => keys.indexOf(k) !== i), 'each window and group is written exactly once').toEqual([]);
      const got = new Map(out.map((m) => [m.key ?? '', (JSON.parse(m.value ?? 'null') as { values: unknown }).values]));
      const wrong = [...expected].filter(([k, v]) => JSON.stringify(got.get(k)) !== JSON.stringify(v));
      const extra = [...got.keys()].filter((k) => !expected.has(k));
      expect({ wrong: wrong.slice(0, 3).map(([k, v]) => ({ k, want: v, got: got.get(k) })), wrongCount: wrong.length, extra: extra.slice(0, 3) }).toEqual({ wrong: [], wrongCount: 0, extra: [] });
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }
  });
});
