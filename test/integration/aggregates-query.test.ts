// GET /aggregates against the real broker, on both clients: two instances share the partitions;
// each group's windows are asked of instance A, which answers those it holds and redirects the
// rest (307) to B by the ownership topic. Open windows come back not final, closed ones final
// (kept for http.queryRetention) with the values the output topic carries, and each answer's
// freshness names the partition's committed offset.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/kafka-broker.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import type { RunningPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { defaultPartition } from '../../src/model/key-partition.ts';
import { partialsTopic } from '../../src/model/naming.ts';
import { brokers, createTopics, KAFKA_CLIENTS, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd, withAdmin } from '../helpers/kafka.ts';

const PARTITIONS = 4;
const T = 1_700_000_040_000;
const PLAYERS = Array.from({ length: 12 }, (_, i) => `p${i}`);
const REGIONS = ['eu', 'us'];
const log = createLogger('warn');

interface Answer {
  results: { group: Record<string, unknown>; start: number; final: boolean; values: { n: number } }[];
  freshness: { topic: string; partition: number; committedOffset: string | null; lag: number | null }[];
}

async function setUp(client: KafkaClientName) {
  const appId = uniqueName('aggregates-query');
  const t = { input: `${appId}-in`, output: `${appId}-out`, dlq: `${appId}-dlq` };
  await createTopics([{ topic: t.input, numPartitions: PARTITIONS }]);
  const config = async (instance: string) => {
    const port = await freePort();
    return parseConfig({
      kafka: { brokers: brokers(), client, clientId: 'sluice-test', sessionTimeout: '6s' },
      application: { id: appId, stateDir: mkdtempSync(join(tmpdir(), `sluice-query-${instance}-`)) },
      input: { topic: t.input, key: 'playerId', eventTime: { field: 'ts' } },
      windows: [
        { name: 'per_player', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()' } },
        { name: 'per_region', groupBy: ['region'], tumbling: '1m', aggregates: { n: 'count()' } },
      ],
      output: { topic: t.output },
      deadLetter: { topic: t.dlq },
      http: { port, queryRetention: '10m' },
    });
  };
  return { appId, ...t, config };
}

/** Each player plays n events in the first minute and one in the second, which closes the first. */
function events() {
  const out: { partition: number; key: string; value: string }[] = [];
  const expected = new Map<string, number>();
  PLAYERS.forEach((player, i) => {
    const region = REGIONS[i % 2]!;
    const n = i + 1;
    expected.set(player, n);
    expected.set(region, (expected.get(region) ?? 0) + n);
    for (let e = 0; e < n; e++) out.push({ partition: defaultPartition(player, PARTITIONS), key: player, value: JSON.stringify({ playerId: player, region, ts: T + e }) });
  });
  // Stream time passes the first minute on every partition, and each player opens a second window.
  for (const player of PLAYERS) out.push({ partition: defaultPartition(player, PARTITIONS), key: player, value: JSON.stringify({ playerId: player, region: REGIONS[PLAYERS.indexOf(player) % 2], ts: T + 60_000 }) });
  for (let p = 0; p < PARTITIONS; p++) out.push({ partition: p, key: `clock-${p}`, value: JSON.stringify({ playerId: `clock-${p}`, region: 'none', ts: T + 61_000 }) });
  return { out, expected };
}

/** `ask` until the answer's results match `want` (the state a lane committed last), or 30 s pass. */
async function askUntil(url: string, query: string, want: (results: [number, boolean, number][]) => boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const got = await ask(url, query);
    if (want(got.answer.results.map((r) => [r.start, r.final, r.values.n])) || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** GET the query from `url`, following one 307 by hand (as a client that re-sends its token must), retrying 503s. */
async function ask(url: string, query: string): Promise<{ redirected: string | undefined; answer: Answer }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const first = await fetch(`${url}/aggregates?${query}`, { redirect: 'manual' });
    const location = first.status === 307 ? (first.headers.get('location') ?? undefined) : undefined;
    // An owner that just stopped is still named until the next one announces itself.
    const res = location === undefined ? first : await fetch(location, { redirect: 'manual' }).catch(() => undefined);
    if (res?.status === 200) return { redirected: location, answer: (await res.json()) as Answer };
    if ((res !== undefined && res.status !== 503) || Date.now() > deadline) throw new Error(`GET ${query}: ${res?.status ?? 'no answer from the owner'} ${await res?.text()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function spread(a: RunningPipeline, b: RunningPipeline, topics: string[]) {
  const owned = (p: RunningPipeline) => p.openLanes().filter((l) => topics.some((t) => l.startsWith(`${t}/`)));
  const deadline = Date.now() + 60_000;
  while (owned(a).length === 0 || owned(b).length === 0 || owned(a).length + owned(b).length < topics.length * PARTITIONS) {
    if (Date.now() > deadline) throw new Error(`lanes never spread: A ${a.openLanes().join(' ')}, B ${b.openLanes().join(' ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function endOffsets(topic: string): Promise<Map<number, string>> {
  return withAdmin(async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high])));
}

describe.each(KAFKA_CLIENTS)('GET /aggregates on %s', (client) => {
  it('answers open and closed windows from the owner of each group, redirecting from the other instance', async () => {
    const s = await setUp(client);
    const aConfig = await s.config('a');
    const bConfig = await s.config('b');
    const aUrl = `http://127.0.0.1:${aConfig.http.port}`;
    const bUrl = `http://127.0.0.1:${bConfig.http.port}`;
    const a = await startPipeline(aConfig, log);
    let b: RunningPipeline | undefined;
    try {
      b = await startPipeline(bConfig, log);
      const partials = partialsTopic(s.appId, 'per_region');
      await spread(a, b, [s.input, partials]);
      const { out, expected } = events();
      await produceToPartitions(s.input, out);
      await waitForCommittedEnd(s.appId, s.input);
      // Every final is out. A lane commits its store just after the Kafka transaction that
      // writes them, so a query can still see the state before for a moment: askUntil waits it out.
      const finals = await readAllCommitted(s.output, PLAYERS.length + REGIONS.length);
      const written = new Map(finals.map((m) => JSON.parse(m.value ?? '') as { group: { playerId?: string; region?: string }; start: number; values: { n: number } }).filter((f) => f.start === T - (T % 60_000)).map((f) => [f.group.playerId ?? f.group.region!, f.values.n]));
      const inputEnds = await endOffsets(s.input);

      const redirects = new Set<string>();
      for (const player of PLAYERS) {
        const { redirected, answer } = await askUntil(aUrl, `window=per_player&group=playerId%3D${player}`, (r) => r.length === 2);
        if (redirected !== undefined) redirects.add(new URL(redirected).origin);
        const partition = defaultPartition(player, PARTITIONS);
        const owner = a.openLanes().includes(`${s.input}/${partition}`) ? 'a' : 'b';
        expect(redirected === undefined, `${player} on partition ${partition}, owned by ${owner}`).toBe(owner === 'a');
        expect(answer.results.map((r) => [r.start, r.final, r.values.n])).toEqual([
          [T - (T % 60_000), true, expected.get(player)],
          [T - (T % 60_000) + 60_000, false, 1],
        ]);
        expect(answer.results[0]!.values.n).toBe(written.get(player));
        expect(answer.freshness).toContainEqual(expect.objectContaining({ topic: s.input, partition, committedOffset: inputEnds.get(partition) }));
      }
      expect([...redirects], 'redirects go to the other instance only').toEqual([bUrl]);

      for (const region of REGIONS) {
        const players = PLAYERS.filter((_, i) => REGIONS[i % 2] === region).length;
        const { answer } = await askUntil(aUrl, `window=per_region&group=region=${region}`, (r) => r.length === 2 && r[0]![1] && r[1]![2] === players);
        expect(answer.results.map((r) => [r.final, r.values.n])).toEqual([
          [true, expected.get(region)],
          [false, players],
        ]);
        expect(answer.results[0]!.values.n).toBe(written.get(region));
        expect(answer.freshness.map((f) => f.topic)).toEqual([partials]);
      }

      const unknown = await fetch(`${aUrl}/aggregates?window=per_player&group=playerId=nobody`, { redirect: 'manual' });
      expect([200, 307]).toContain(unknown.status);

      // B leaves: A takes every partition, restores B's state from the changelog (the retained
      // finals with it), announces them, and answers everything itself.
      const moved = PLAYERS.find((player) => !a.openLanes().includes(`${s.input}/${defaultPartition(player, PARTITIONS)}`))!;
      await b.stop();
      b = undefined;
      const { redirected, answer } = await askUntil(aUrl, `window=per_player&group=playerId%3D${moved}`, (r) => r.length === 2);
      expect(redirected).toBeUndefined();
      expect(answer.results.map((r) => [r.final, r.values.n])).toEqual([
        [true, expected.get(moved)],
        [false, 1],
      ]);
    } finally {
      await b?.stop();
      await a.stop();
    }
  });
});
