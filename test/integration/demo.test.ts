// `npm run demo` end to end (scripts/demo/run-demo.ts), small: each example's scenario on the real
// broker and registry, on both clients. The demo's own check (the dead letters are exactly those
// its input was written to cause) must hold, each window and group is written once, and the
// merged leaderboard agrees with the partition-local per-player results of the same minute.
import { describe, expect, it } from 'vitest';
import type { Result } from '../../scripts/demo/read-back.ts';
import { playerStats } from '../../scripts/demo/player-stats.ts';
import { runDemo } from '../../scripts/demo/run-demo.ts';
import { treasureHunt } from '../../scripts/demo/treasure-hunt.ts';
import { KAFKA_CLIENTS, brokers } from '../helpers/kafka.ts';
import { schemaRegistryUrl } from '../helpers/schema-registry.ts';

const EVENTS = 6000;

function writtenOnce(results: readonly Result[]): string[] {
  const keys = results.map((r) => JSON.stringify([r.window, r.group, r.start]));
  return keys.filter((k, i) => keys.indexOf(k) !== i);
}

/** The top 10 of a minute's per-player points, ranked as topK ranks: by value, ties by member. */
function topOfMinute(results: readonly Result[], start: number): { member: string; value: number }[] {
  return results
    .filter((r) => r.window === 'per_player_1m' && r.start === start)
    .map((r) => ({ member: String(r.group.playerId), value: Number(r.values.points) }))
    .sort((a, b) => b.value - a.value || (a.member < b.member ? -1 : 1))
    .slice(0, 10);
}

describe.each(KAFKA_CLIENTS)('the demo on %s', (client) => {
  const run = (scenario: typeof treasureHunt) => runDemo({ scenario, client, brokers: brokers().join(','), registryUrl: schemaRegistryUrl, events: EVENTS, print: () => undefined });

  it('treasure hunt: dead letters as written, each result once, leaderboards equal to the per-player results', async () => {
    const outcome = await run(treasureHunt);
    expect(outcome.deadLetters).toEqual(outcome.expectedDeadLetters);
    expect(outcome.deadLetters['enrich-miss']).toBeGreaterThan(0);
    expect(writtenOnce(outcome.results)).toEqual([]);
    const boards = outcome.results.filter((r) => r.window === 'leaderboard_1m');
    expect(boards.length).toBeGreaterThan(10);
    expect(outcome.results.some((r) => r.window === 'per_region_10m_by_1m')).toBe(true);
    for (const board of boards) expect({ start: board.start, top10: board.values.top10 }).toEqual({ start: board.start, top10: topOfMinute(outcome.results, board.start) });
  }, 120_000);

  it('player stats: dead letters as written, each result once', async () => {
    const outcome = await run(playerStats);
    expect(outcome.deadLetters).toEqual(outcome.expectedDeadLetters);
    expect(writtenOnce(outcome.results)).toEqual([]);
    expect(outcome.results.length).toBeGreaterThan(0);
  }, 120_000);
});
