// Session windows end to end through the real broker, on both clients: a session per player next
// to the default fixed windows, with out-of-order events that bridge two sessions of a player
// into one. What sluice commits must equal the oracle exactly, also across a restart that
// rebuilds the state from the changelog.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';
import { createScenario, runWithFullRestore } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

describe.each(KAFKA_CLIENTS)('session windows on %s', (client) => {
  it('match the oracle, bridged sessions merged, after a restore from the changelog', { timeout: 240_000 }, async () => {
    const s = await createScenario({ client, name: 'sessions', pipeline: 'sessions', partitions: 3, events: 8_000, seed: 2024 });
    const sessions = [...s.oracle.finals.values()].filter((f) => f.window === 'player_sessions');
    // The stream must exercise what the test claims to check.
    expect(sessions.length).toBeGreaterThan(100);
    expect(s.oracle.sessionBridges).toBeGreaterThan(0);

    // The next run must rebuild open sessions (and their close index) from the changelog alone.
    await runWithFullRestore(s, log, async (second) => {
      expect(await counterTotal(second.metrics.restores, { mode: 'full' })).toBe(3);
    });
  });
});
