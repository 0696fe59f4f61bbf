// Enrichment against the real broker: events are joined to a players table (tier, region) and a
// regions table (its display name), then aggregated per player and tier and, across partitions,
// per region name. Players missing from the table are dead-lettered (`enrich-miss`); players
// whose region has no row keep no name, so the window grouped by it dead-letters them as
// `missing-field`. The tables are loaded before the events, so the result is exact: it must
// equal the oracle below, which applies the same lookups to the generated stream.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import type { PipelineMetrics } from '../../src/observability/metrics.ts';
import { mulberry32, partitionFor } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from '../helpers/kafka.ts';
import { BASE, IN_TABLE, MINUTE, PARTITIONS, player, PLAYERS, REGION_NAMES } from '../helpers/players.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
/** what topic tables are told between the two halves of the stream (file tables stay as they are) */
const UPDATED_TIER = { playerId: 'p2', tier: 'platinum' };
const UPDATED_REGION = { code: 'apac', name: 'Asia-Pacific' };

interface Event {
  eventId: string;
  playerId: string;
  ts: number;
  points: number;
}

/** Two halves, the second after the tables' update; the closing events come last. */
function generate(events: number, seed: number): [Event[], Event[]] {
  const rng = mulberry32(seed);
  const out: Event[] = [];
  for (let i = 0; i < events; i++) out.push({ eventId: `e${i}`, playerId: `p${Math.floor(rng() * PLAYERS)}`, ts: BASE + i * 150, points: 1 + Math.floor(rng() * 10) });
  const first = out.splice(0, events / 2);
  // Far ahead on every partition, from a player whose row and region exist, so that every window
  // of the stream closes (the cross-partition one once all partitions passed it).
  for (let p = 0; p < PARTITIONS; p++) {
    const closer = Array.from({ length: IN_TABLE }, (_, i) => player(i)).find((pl) => pl.region !== 'xx' && partitionFor(pl.playerId, PARTITIONS) === p)!;
    out.push({ eventId: `close-${p}`, playerId: closer.playerId, ts: BASE + 30 * MINUTE, points: 0 });
  }
  return [first, out];
}

interface Expected {
  finals: Map<string, { n: number; points: number }>;
  deadLetters: Map<string, number>;
}

/**
 * The lookups and both windows, written out for this stream; finals of the closing events' windows
 * are not due. `updated`: the second half saw the tables' update (topic tables).
 */
function oracle([first, second]: [Event[], Event[]], updated: boolean): Expected {
  const finals = new Map<string, { n: number; points: number }>();
  const deadLetters = new Map<string, number>();
  const add = (key: string, points: number) => {
    const v = finals.get(key) ?? { n: 0, points: 0 };
    v.n++;
    v.points += points;
    finals.set(key, v);
  };
  for (const e of [...first, ...second]) {
    const i = Number(e.playerId.slice(1));
    if (i >= IN_TABLE) {
      deadLetters.set('enrich-miss', (deadLetters.get('enrich-miss') ?? 0) + 1);
      continue;
    }
    const late = updated && !first.includes(e);
    const { region } = player(i);
    const tier = late && e.playerId === UPDATED_TIER.playerId ? UPDATED_TIER.tier : player(i).tier;
    const name = late && region === UPDATED_REGION.code ? UPDATED_REGION.name : REGION_NAMES[region];
    if (name === undefined) {
      deadLetters.set('missing-field', (deadLetters.get('missing-field') ?? 0) + 1);
      continue;
    }
    const start = e.ts - (e.ts % MINUTE);
    if (start >= BASE + 30 * MINUTE) continue;
    add(JSON.stringify(['per_player_tier', e.playerId, tier, start]), e.points);
    add(JSON.stringify(['per_region', name, start]), e.points);
  }
  return { finals, deadLetters };
}

type Source = 'file' | 'topic';

/**
 * The same table contents from files, or from topics: players co-partitioned with the input (with
 * a stale row updated and an extra row deleted by a tombstone, as a compacted topic may hold
 * them), regions in a global table of another partition count.
 */
async function tableConfig(source: Source, dir: string, appId: string): Promise<string[]> {
  const rows = Array.from({ length: IN_TABLE }, (_, i) => ({ ...player(i), bio: 'not copied' }));
  if (source === 'file') {
    writeFileSync(join(dir, 'players.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(dir, 'regions.csv'), 'code,name\n' + Object.entries(REGION_NAMES).map(([c, n]) => `${c},${n}`).join('\n') + '\n');
    return ['  players: { source: { file: players.jsonl, key: playerId } }', '  regions: { source: { file: regions.csv, key: code } }'];
  }
  const players = `${appId}-players`;
  const regions = `${appId}-regions`;
  await createTopics([
    { topic: players, numPartitions: PARTITIONS, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: regions, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  const extra = player(IN_TABLE);
  const at = (key: string) => partitionFor(key, PARTITIONS);
  await produceToPartitions(players, [
    { partition: at('p0'), key: 'p0', value: JSON.stringify({ ...player(0), tier: 'stale' }) },
    { partition: at(extra.playerId), key: extra.playerId, value: JSON.stringify(extra) },
    { partition: at('p1'), key: 'p1', value: 'not json' },
    ...rows.map((r) => ({ partition: at(r.playerId), key: r.playerId, value: JSON.stringify(r) })),
    { partition: at(extra.playerId), key: extra.playerId, value: null },
  ]);
  await produceToPartitions(regions, Object.entries(REGION_NAMES).map(([code, name], i) => ({ partition: i % 2, key: code, value: JSON.stringify({ name }) })));
  return [`  players: { source: { topic: ${JSON.stringify(players)} } }`, `  regions: { source: { topic: ${JSON.stringify(regions)} }, global: true }`];
}

async function setUp(client: string, name: string, source: Source) {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  const appId = uniqueName(name);
  const t = { input: `${appId}-in`, output: `${appId}-out`, dlq: `${appId}-dlq` };
  await createTopics([{ topic: t.input, numPartitions: PARTITIONS }]);
  const tables = await tableConfig(source, dir, appId);
  const q = JSON.stringify;
  const configFile = join(dir, 'pipeline.yaml');
  writeFileSync(
    configFile,
    [
      `kafka: { brokers: [${brokers().map((b) => q(b)).join(', ')}], client: ${client}, clientId: sluice-test, sessionTimeout: 6s }`,
      `application: { id: ${q(appId)}, stateDir: ${q(join(dir, 'state'))} }`,
      `input: { topic: ${q(t.input)}, key: playerId, eventTime: { field: ts } }`,
      'dedupe: { idField: eventId, ttl: 10m }',
      'tables:',
      ...tables,
      'enrich:',
      '  - { table: players, on: playerId, fields: [tier, region], missing: dead-letter }',
      '  - { table: regions, on: region, fields: [name] }',
      'windows:',
      '  - { name: per_player_tier, groupBy: [playerId, tier], tumbling: 1m, aggregates: { n: count(), points: sum(points) } }',
      '  - { name: per_region, groupBy: [name], tumbling: 1m, aggregates: { n: count(), points: sum(points) } }',
      `output: { topic: ${q(t.output)} }`,
      `deadLetter: { topic: ${q(t.dlq)} }`,
      'http: { port: 0 }',
      '',
    ].join('\n'),
  );
  return { appId, ...t, players: `${appId}-players`, regions: `${appId}-regions`, config: loadConfigFile(configFile) };
}

const toInput = (events: readonly Event[]) => events.map((e) => ({ partition: partitionFor(e.playerId, PARTITIONS), key: e.playerId, value: JSON.stringify(e) }));

/**
 * Updates both topic tables while sluice runs, and waits until they are applied: the players row
 * by whichever pipeline's lane holds its partition, the regions row by every pipeline (each keeps
 * the global table whole).
 */
async function updateTables(s: Awaited<ReturnType<typeof setUp>>, pipelines: readonly PipelineMetrics[]): Promise<void> {
  const applied = async (table: string) => Promise.all(pipelines.map((m) => counterTotal(m.tableRecords, { table })));
  const players = (await applied('players')).reduce((a, b) => a + b, 0);
  const regions = await applied('regions');
  await produceToPartitions(s.players, [{ partition: partitionFor(UPDATED_TIER.playerId, PARTITIONS), key: UPDATED_TIER.playerId, value: JSON.stringify({ ...player(2), tier: UPDATED_TIER.tier }) }]);
  await produceToPartitions(s.regions, [{ partition: 0, key: UPDATED_REGION.code, value: JSON.stringify({ name: UPDATED_REGION.name }) }]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nowPlayers = (await applied('players')).reduce((a, b) => a + b, 0);
    const nowRegions = await applied('regions');
    if (nowPlayers > players && nowRegions.every((n, i) => n > regions[i]!)) return;
    if (Date.now() > deadline) throw new Error('the running pipelines did not apply the table updates within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What sluice committed, results and dead letters, against the oracle. */
async function expectOracleOutput(s: Awaited<ReturnType<typeof setUp>>, expected: Expected): Promise<void> {
  const out = await readAllCommitted(s.output, expected.finals.size, 3000);
  const got = new Map(out.map((m) => [m.key ?? '', (JSON.parse(m.value ?? 'null') as { values: { n: number; points: number } }).values]));
  expect(got.size, 'one final per window and group').toBe(out.length);
  const wrong = [...expected.finals].filter(([k, v]) => JSON.stringify(got.get(k)) !== JSON.stringify(v));
  expect({ wrong: wrong.slice(0, 3), wrongCount: wrong.length, extra: [...got.keys()].filter((k) => !expected.finals.has(k)).slice(0, 3) }).toEqual({ wrong: [], wrongCount: 0, extra: [] });
  const total = [...expected.deadLetters.values()].reduce((a, b) => a + b, 0);
  const dead = await readAllCommitted(s.dlq, total, 1000);
  const byReason = new Map<string, number>();
  for (const m of dead) byReason.set(m.headers['sluice.reason']!, (byReason.get(m.headers['sluice.reason']!) ?? 0) + 1);
  expect(byReason).toEqual(expected.deadLetters);
  const miss = dead.find((m) => m.headers['sluice.reason'] === 'enrich-miss')!;
  expect(miss.headers).toMatchObject({ 'sluice.stage': 'enrich', 'sluice.field': 'playerId' });
}

describe.each(KAFKA_CLIENTS)('enrichment on %s', (client) => {
  it.each<Source>(['file', 'topic'])('joins events to %s tables before windowing, follows table updates, dead-letters misses: equals the oracle', async (source) => {
    const s = await setUp(client, 'enrich', source);
    const halves = generate(3000, 7);
    const expected = oracle(halves, source === 'topic');
    await produceToPartitions(s.input, toInput(halves[0]));
    const pipeline = await startPipeline(s.config, log);
    try {
      await waitForCommittedEnd(s.appId, s.input);
      // Tables change while running: later events see the new rows, earlier results stay.
      if (source === 'topic') await updateTables(s, [pipeline.metrics]);
      await produceToPartitions(s.input, toInput(halves[1]));
      await waitForCommittedEnd(s.appId, s.input);
      await expectOracleOutput(s, expected);
      expect(await counterTotal(pipeline.metrics.enrichMisses, { table: 'players', missing: 'dead-letter' })).toBe(expected.deadLetters.get('enrich-miss'));
    } finally {
      await pipeline.stop();
    }
  });

  it('moves co-partitioned table partitions with their lanes between two instances', async () => {
    const s = await setUp(client, 'enrich-move', 'topic');
    const halves = generate(3000, 9);
    const expected = oracle(halves, true);
    await produceToPartitions(s.input, toInput(halves[0]));
    const a = await startPipeline(s.config, log);
    let b: Awaited<ReturnType<typeof startPipeline>> | undefined;
    try {
      await waitForCommittedEnd(s.appId, s.input);
      // A second instance, as on another machine: the group hands it some of A's partitions, and
      // its lanes load their table partitions from the topic before their first batch.
      b = await startPipeline({ ...s.config, application: { ...s.config.application, stateDir: `${s.config.application.stateDir}-b` } }, log);
      const sources = (p: { openLanes(): string[] }) => p.openLanes().filter((l) => l.startsWith(`${s.input}/`));
      const deadline = Date.now() + 60_000;
      while (sources(b).length === 0 || sources(a).length + sources(b).length < PARTITIONS) {
        if (Date.now() > deadline) throw new Error(`partitions never spread over both instances: A ${a.openLanes().join(' ')}, B ${b.openLanes().join(' ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await updateTables(s, [a.metrics, b.metrics]);
      // A leaves: every partition continues on B, whose new lanes load the updated rows.
      await a.stop();
      await produceToPartitions(s.input, toInput(halves[1]));
      await waitForCommittedEnd(s.appId, s.input);
      expect(sources(b)).toHaveLength(PARTITIONS);
      await expectOracleOutput(s, expected);
    } finally {
      await a.stop();
      await b?.stop();
    }
  });
});
