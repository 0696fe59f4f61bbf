// output.partitioning: input. Every result goes to the output partition numbered like its lane's:
// a partition-local window's to its group's input partition, a cross-partition window's to its
// merge partition. The output must still equal the oracle, exactly once.
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { mergePartition } from '../../src/processors/partials.ts';
import { KAFKA_CLIENTS, readAllCommitted } from '../helpers/kafka.ts';
import { createScenario, expectOracleOutput, outputQuietMs, produce, waitUntilProcessed } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const CROSS_WINDOW = 'per_region_5m_by_1m';

describe.each(KAFKA_CLIENTS)('output.partitioning: input on %s', (client) => {
  it('writes each result to its lane\'s partition, and the output equals the oracle', { timeout: 180_000 }, async () => {
    const s = await createScenario({ client, name: 'out-part', pipeline: 'cross', partitions: 4, events: 8000, seed: 77 });
    // The input partition of each player, whose events the generator all puts on one partition.
    const playerPartition = new Map<string, number>();
    for (const r of s.records) {
      if (r.kind !== 'normal') continue;
      const { playerId } = JSON.parse(r.value!) as { playerId: string };
      const seen = playerPartition.get(playerId);
      if (seen !== undefined && seen !== r.partition) throw new Error(`player ${playerId} has events on partitions ${seen} and ${r.partition}`);
      playerPartition.set(playerId, r.partition);
    }
    const config = { ...s.config, output: { ...s.config.output, partitioning: 'input' as const } };
    await produce(s);
    const pipeline = await startPipeline(config, log);
    try {
      await waitUntilProcessed(s);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }
    const out = await readAllCommitted(s.output, s.oracle.finals.size, outputQuietMs(s));
    const misplaced: string[] = [];
    let merged = 0;
    for (const m of out) {
      const result = JSON.parse(m.value ?? 'null') as { window: string; group: Record<string, unknown> };
      const expected = result.window === CROSS_WINDOW ? mergePartition([result.group.region], s.partitions) : playerPartition.get(result.group.playerId as string);
      if (result.window === CROSS_WINDOW) merged++;
      if (m.partition !== expected) misplaced.push(`${m.key} on partition ${m.partition}, expected ${expected}`);
    }
    expect(merged, 'the cross-partition window wrote results').toBeGreaterThan(0);
    expect(misplaced.slice(0, 5)).toEqual([]);
  });
});
