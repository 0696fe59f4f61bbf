// The broker restarts (clean shutdown, same data) while sluice is mid-stream: in-flight
// transactions fail, lanes close and reopen through fencing and restore, and the committed
// output is still exactly the oracle's. The broker stays down for longer than either client
// retries a request (@platformatic/kafka's retries add up to about 12 s, and a plain restart,
// 5-10 s here, let its lanes ride it out with nothing failing over).
import { describe, expect, inject, it } from 'vitest';
import { restartBroker } from '../../scripts/kafka-broker.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

const brokerDir = inject('kafkaBrokerDir');
const DOWN_MS = 15_000;

describe.each(KAFKA_CLIENTS)('broker restart on %s', (client) => {
  // Runs wherever the project runs the broker itself (always in CI); with KAFKA_BROKERS, set
  // KAFKA_BROKER_DIR to a broker started by `npm run kafka:up` to include it.
  it.skipIf(brokerDir === '')('keeps the output exact when the broker restarts mid-run', async () => {
    const s = await createScenario({ client,  name: 'broker-restart', partitions: 4, events: 32_000, seed: 31 });
    const half = Math.floor(s.records.length / 2);
    await produce(s, s.records.slice(0, half));
    // Warnings too: a lane with nothing in hand sees the restart only as failed fetches, retried.
    const warnings: string[] = [];
    const pipeline = await startPipeline(s.config, createLogger('warn', 'sluice', (line) => warnings.push(line)));
    try {
      // Restart once the pipeline is busy with the first half.
      while ((await counterTotal(pipeline.metrics.recordsIn)) < 1000) await new Promise((r) => setTimeout(r, 50));
      // The premise: the lanes still had input in hand when the broker went away. Read before the
      // stop: once the broker is back, a fast machine may have finished the half already.
      const committedAtStop = await counterTotal(pipeline.metrics.recordsIn);
      expect(committedAtStop).toBeLessThan(half);
      const handle = await restartBroker(brokerDir, 90_000, DOWN_MS);
      const committedWhenBack = await counterTotal(pipeline.metrics.recordsIn);
      console.log(`[broker-restart] broker down ${DOWN_MS / 1000}s with ${committedAtStop} records committed, back in ${(handle.startMs / 1000).toFixed(1)}s more, with ${committedWhenBack} committed`);
      await produce(s, s.records.slice(half));
      await waitUntilProcessed(s, 240_000);
      // sluice saw the restart: batches in hand failed and their lanes reopened (fenced,
      // restored) beside the first openings; a lane caught between batches sees failed fetches,
      // retried (@platformatic/kafka's fetch loop says so; kafkajs's consumer fails a batch).
      const aborts = await counterTotal(pipeline.metrics.aborts);
      const openings = await counterTotal(pipeline.metrics.restores);
      const fetchRetries = warnings.filter((l) => /fetch failed, retrying|fetch loop: .*retrying/.test(l)).length;
      console.log(`[broker-restart] ${aborts} lane batches or openings failed; ${openings} lane openings for ${s.partitions} partitions; ${fetchRetries} failed fetches retried`);
      expect(aborts + fetchRetries, 'the restart reached sluice: batches failed or fetches were retried').toBeGreaterThan(0);
      if (aborts > 0) expect(openings, 'failed lanes reopened').toBeGreaterThan(s.partitions);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }
  });
});
