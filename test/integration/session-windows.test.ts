// Session windows end to end through the real broker, on both clients: a session per player next
// to the default fixed windows, with out-of-order events that bridge two sessions of a player
// into one. What sluice commits must equal the oracle exactly, also across a restart that
// rebuilds the state from the changelog.
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

describe.each(KAFKA_CLIENTS)('session windows on %s', (client) => {
  it('match the oracle, bridged sessions merged, after a restore from the changelog', { timeout: 240_000 }, async () => {
    const s = await createScenario({ client, name: 'sessions', pipeline: 'sessions', partitions: 3, events: 8_000, seed: 2024 });
    const sessions = [...s.oracle.finals.values()].filter((f) => f.window === 'player_sessions');
    // The stream must exercise what the test claims to check.
    expect(sessions.length).toBeGreaterThan(100);
    expect(s.oracle.sessionBridges).toBeGreaterThan(0);

    const half = Math.floor(s.records.length / 2);
    await produce(s, s.records.slice(0, half));
    const first = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
    } finally {
      await first.stop();
    }
    // The next run must rebuild open sessions (and their close index) from the changelog alone.
    rmSync(s.config.application.stateDir, { recursive: true, force: true });
    await produce(s, s.records.slice(half));
    const second = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      expect(await counterTotal(second.metrics.restores, { mode: 'full' })).toBe(3);
      await expectOracleOutput(s);
    } finally {
      await second.stop();
    }
  });
});
