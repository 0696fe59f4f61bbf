// The broker restarts (clean shutdown, same data) while sluice is mid-stream: in-flight
// transactions fail, lanes close and reopen through fencing and restore, and the committed
// output is still exactly the oracle's.
import { describe, inject, it } from 'vitest';
import { restartBroker } from '../../scripts/kafka-broker.ts';
import { startPipeline } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/metrics.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

const brokerDir = inject('kafkaBrokerDir');

describe.each(KAFKA_CLIENTS)('broker restart on %s', (client) => {
  // Runs wherever the project runs the broker itself (always in CI); with KAFKA_BROKERS, set
  // KAFKA_BROKER_DIR to a broker started by `npm run kafka:up` to include it.
  it.skipIf(brokerDir === '')('keeps the output exact when the broker restarts mid-run', async () => {
    const s = await createScenario({ client,  name: 'broker-restart', partitions: 4, events: 16_000, seed: 31 });
    const half = Math.floor(s.records.length / 2);
    await produce(s, s.records.slice(0, half));
    const pipeline = await startPipeline(s.config, createLogger('error'));
    try {
      // Restart once the pipeline is busy with the first half.
      while ((await counterTotal(pipeline.metrics.recordsIn)) < 1000) await new Promise((r) => setTimeout(r, 50));
      const handle = await restartBroker(brokerDir);
      console.log(`[broker-restart] broker back in ${(handle.startMs / 1000).toFixed(1)}s with ${await counterTotal(pipeline.metrics.recordsIn)} records committed`);
      await produce(s, s.records.slice(half));
      await waitUntilProcessed(s, 240_000);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }
  });
});
