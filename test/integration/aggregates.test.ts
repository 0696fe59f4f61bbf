// first, last, countDistinct, quantiles and topK end to end through the real broker, on both
// clients: in a partition-local window, a window merged across partitions, and a global window
// (groupBy: []). Compared with the oracle: exact for first/last/topK, within the documented bounds
// for the sketches (test/helpers/sketch-bounds.ts); a topK at its maxMembers refuses new members.
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

describe.each(KAFKA_CLIENTS)('aggregates on %s', (client) => {
  it('match the oracle in direct, cross-partition and global windows', { timeout: 240_000 }, async () => {
    const s = await createScenario({ client, name: 'aggregates', pipeline: 'aggregates', partitions: 4, events: 12_000, seed: 1313 });
    const finals = [...s.oracle.finals.values()];
    // The stream must exercise what the test claims to check.
    expect(new Set(finals.map((f) => f.window))).toEqual(new Set(['per_player_1m', 'per_region_5m_by_1m', 'global_1m']));
    expect(finals.some((f) => f.window === 'per_region_5m_by_1m' && (f.values.events as number) > 1024), 'a countDistinct past the sparse form').toBe(true);
    expect(finals.some((f) => f.window === 'global_1m' && typeof f.values.firstEvent === 'number'), 'a numeric first id').toBe(true);
    expect([...s.oracle.deadLetters.values()]).toContain('not-a-scalar');
    expect([...s.oracle.deadLetters.values()], 'a topK at its maxMembers').toContain('state-limit');

    await produce(s);
    const pipeline = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }
  });
});
