// `npm run demo -- --example player-stats`: examples/player-stats.yaml on JSON player actions over
// ~25 minutes of event time, with upstream retries (repeated ids) and a few malformed records.
import type { OutRecord } from '../../src/model/records.ts';
import { clock, latestOf, shown } from './read-back.ts';
import type { Result } from './read-back.ts';
import { seeded, sendAll } from './scenario.ts';
import type { DemoScenario } from './scenario.ts';

function actions(topic: string, count: number): { records: OutRecord[]; malformed: number } {
  const out: OutRecord[] = [];
  let malformed = 0;
  const base = Date.now() - 30 * 60_000;
  const kinds = ['dig', 'trade', 'find'];
  const rnd = seeded(7);
  for (let i = 0; i < count; i++) {
    const player = `player-${Math.floor(rnd() * 40)}`;
    const ts = base + Math.floor((i / count) * 25 * 60_000) - Math.floor(rnd() * 5000);
    const value = JSON.stringify({ eventId: `e-${i}`, playerId: player, action: kinds[i % 3], points: Math.floor(rnd() * 10), score: Math.floor(rnd() * 100), ts });
    out.push({ topic, key: player, value });
    if (rnd() < 0.1) out.push({ topic, key: player, value }); // an upstream retry
    if (i % 5000 === 0) {
      out.push({ topic, key: player, value: '{"eventId": "broken' });
      malformed++;
    }
  }
  return { records: out, malformed };
}

function describe(results: readonly Result[]): string[] {
  const minute = latestOf(results, 'per_player_1m').sort((a, b) => Number(b.values.points) - Number(a.values.points));
  return [
    `per player, the minute from ${clock(minute[0]?.start ?? 0)}, the 5 with most points of ${minute.length}:`,
    ...minute.slice(0, 5).map((r) => `  ${String(r.group.playerId).padEnd(10)} ${shown(r.values)}`),
  ];
}

export const playerStats: DemoScenario = {
  example: 'player-stats.yaml',
  inputName: 'JSON player actions',
  async produce(client, config, events) {
    const { records, malformed } = actions(config.input.topic, events);
    await sendAll(client, records);
    return { records: records.length, deadLetters: { 'invalid-json': malformed } };
  },
  describe,
};
