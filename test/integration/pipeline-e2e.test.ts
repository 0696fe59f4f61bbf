// The whole data path in-process against the real broker: duplicates, out-of-order events within
// grace, late events, repeats after the dedupe ttl and invalid records over 4 partitions. What
// sluice commits must equal the independent oracle exactly.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineSpec, startPipeline } from '../../src/entry/app.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { storeTimes } from '../../src/consumers/lane.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import type { CommitEvent } from '../../src/observability/tracing.ts';
import { PartitionStore } from '../../src/state/partition-store.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario } from '../helpers/scenario.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

/** Produces the first half of the stream, runs a pipeline until it is committed, stops it cleanly. */
async function processFirstHalf(s: Scenario): Promise<number> {
  const half = Math.floor(s.records.length / 2);
  await produce(s, s.records.slice(0, half));
  const pipeline = await startPipeline(s.config, log);
  try {
    await waitUntilProcessed(s);
  } finally {
    await pipeline.stop();
  }
  return half;
}

describe.each(KAFKA_CLIENTS)('pipeline end to end on %s', (client) => {
  it('matches the oracle: aggregates, dead letters with reasons, duplicate counts', async () => {
    const s = await createScenario({ client,  name: 'e2e', partitions: 4, events: 20_000, seed: 42 });
    await produce(s);
    let committedRecords = 0;
    const onCommit = (e: unknown) => {
      committedRecords += (e as CommitEvent).records;
    };
    subscribe('sluice:commit', onCommit);
    const started = Date.now();
    const pipeline = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      const seconds = (Date.now() - started) / 1000;
      console.log(`[e2e] ${s.records.length} events in ${seconds.toFixed(1)}s = ${Math.round(s.records.length / seconds)} events/s (startup included), ${s.oracle.finals.size} finals, ${s.oracle.deadLetters.size} dead letters`);
      await expectOracleOutput(s);
      for (const [p, n] of s.oracle.duplicates) expect(await counterTotal(pipeline.metrics.duplicates, { partition: String(p) }), `duplicates on partition ${p}`).toBe(n);
      expect(await counterTotal(pipeline.metrics.late)).toBe([...s.oracle.deadLetters.values()].filter((r) => r === 'late').length);
      expect(await counterTotal(pipeline.metrics.recordsIn)).toBe(s.records.length);
      expect(committedRecords, 'the sluice:commit tracing channel sees every committed record').toBe(s.records.length);
    } finally {
      unsubscribe('sluice:commit', onCommit);
      await pipeline.stop();
    }
  });

  it('reuses local state after a clean stop instead of replaying the changelog', async () => {
    const s = await createScenario({ client,  name: 'restart', partitions: 4, events: 8_000, seed: 7 });
    const half = await processFirstHalf(s);
    await produce(s, s.records.slice(half));
    const second = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      expect(await counterTotal(second.metrics.restores, { mode: 'none' })).toBe(4);
      expect(await counterTotal(second.metrics.restores, { mode: 'full' })).toBe(0);
      expect(await counterTotal(second.metrics.restoredRecords)).toBe(0);
      await expectOracleOutput(s);
    } finally {
      await second.stop();
    }
  });

  it('at-least-once without failures gives the same exact result', async () => {
    const s = await createScenario({ client,  name: 'alo', partitions: 4, events: 8_000, seed: 11, guarantee: 'at-least-once' });
    await produce(s);
    const pipeline = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }
  });

  it('rebuilds local state that fell behind the group\'s committed offset (TaskCorrupted: wipe and restore)', async () => {
    const s = await createScenario({ client,  name: 'corrupt', partitions: 2, events: 4_000, seed: 13 });
    const half = await processFirstHalf(s);
    // Simulate a damaged store: it claims to be current with the changelog but reaches only offset 0.
    const store = new PartitionStore(join(s.config.application.stateDir, s.appId, s.input, 'partition-0.mdb'), storeTimes(pipelineSpec(s.config)));
    store.write((w) => w.setMeta({ inputOffset: '0' }));
    await store.close();

    await produce(s, s.records.slice(half));
    const second = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      expect(await counterTotal(second.metrics.restores, { partition: '0', mode: 'full' })).toBe(1);
      await expectOracleOutput(s);
    } finally {
      await second.stop();
    }
  });

  it('pauses intake when in-flight bytes pass the bound, resumes it, and the output stays exact', async () => {
    const s = await createScenario({ client,  name: 'backpressure', partitions: 4, events: 8_000, seed: 17 });
    // 16 KiB fetches on 4 partitions against a 24 KiB bound: nearly every fetch response passes it.
    appendFileSync(s.configFile, 'batching: { maxBytes: 16384 }\nbackpressure: { maxInFlightBytes: 24576 }\n');
    const config = loadConfigFile(s.configFile);
    await produce(s);
    const pipeline = await startPipeline(config, log);
    try {
      await waitUntilProcessed(s);
      await expectOracleOutput(s);
      expect(await counterTotal(pipeline.metrics.pauses)).toBeGreaterThan(0);
      expect(await counterTotal(pipeline.metrics.recordsIn)).toBe(s.records.length);
    } finally {
      await pipeline.stop();
    }
  });
});
