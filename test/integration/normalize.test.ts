// The normalize stage against the real broker, on both clients: a stream whose events come
// renamed, with numbers and times as strings, with extra fields and with values no step accepts,
// normalized by the pipeline and checked against the oracle's own reading of the steps; every
// record no step accepts is a dead letter with reason invalid, stage normalize and its field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { DEFAULT_TEST_PIPELINE, generateStream, pipelineYaml, withClosingRecords } from '../helpers/event-stream.ts';
import type { GeneratedRecord } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, createTopics, readAllCommitted, uniqueName } from '../helpers/kafka.ts';
import { runOracle } from '../helpers/oracle.ts';
import type { OracleNormalizeStep } from '../helpers/oracle-normalize.ts';
import { expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

const STEPS: OracleNormalizeStep[] = [
  { rename: { from: 'player_id', to: 'playerId' } },
  { coerce: { field: 'points', to: 'number' } },
  { coerce: { field: 'ts', to: 'epoch-ms' } },
  { drop: ['debug'] },
  { default: { field: 'region', value: 'unknown' } },
  { match: { field: 'action', pattern: '^[a-z]+$' } },
];

/** What upstream might send instead: one change per record, chosen by its position. */
function unnormalized(records: readonly GeneratedRecord[]): GeneratedRecord[] {
  return records.map((r, i) => {
    if (r.kind === 'flush' || r.value === null) return r;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(r.value) as Record<string, unknown>;
    } catch {
      return r;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof event.points !== 'number') return r;
    const change = i % 9;
    if (change === 1 && 'playerId' in event) {
      event.player_id = event.playerId;
      delete event.playerId;
    } else if (change === 2) event.points = String(event.points);
    else if (change === 3 && typeof event.ts === 'number') event.ts = new Date(event.ts).toISOString();
    else if (change === 4) event.debug = { trace: [1, 2, 3] };
    else if (change === 5) delete event.region;
    else if (change === 6 && i % 4 === 0) event.points = ['0x10', '', '1e999', '12 '][i % 3]!;
    else if (change === 7 && i % 4 === 0) event.action = 'DIG!';
    else return r;
    return { ...r, value: JSON.stringify(event) };
  });
}

describe.each(KAFKA_CLIENTS)('normalize on %s', (client) => {
  it('normalizes before validation; what no step accepts is an invalid dead letter of stage normalize', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-normalize-'));
    const appId = uniqueName('normalize');
    const partitions = 3;
    const [input, output, dlq] = [`${appId}-in`, `${appId}-out`, `${appId}-dlq`];
    await createTopics([{ topic: input, numPartitions: partitions }]);
    const records = unnormalized(withClosingRecords(generateStream({ seed: 91, partitions, events: 4_000, stepMs: 150 }), partitions));
    const oracle = runOracle(records, { ...DEFAULT_TEST_PIPELINE, normalize: STEPS });
    const configFile = join(dir, 'pipeline.yaml');
    writeFileSync(configFile, pipelineYaml({ brokers: brokers().join(','), appId, input, output, dlq, stateDir: join(dir, 'state'), client, normalize: STEPS }));
    const s: Scenario = { name: 'normalize', dir, configFile, config: loadConfigFile(configFile), appId, input, output, dlq, partitions, records, oracle, pipeline: 'default', produceOrder: 'interleaved' };

    const invalid = [...oracle.deadLetters].filter(([, reason]) => reason === 'invalid');
    // The changes must have mattered both ways: fixed by a step, and refused by one.
    expect(invalid.length).toBeGreaterThan(20);
    expect(oracle.accepted).toBeGreaterThan(runOracle(records, DEFAULT_TEST_PIPELINE).accepted);

    await produce(s);
    const pipeline = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }

    const dead = await readAllCommitted(dlq, oracle.deadLetters.size);
    const byOrigin = new Map(dead.map((m) => [`${m.headers['sluice.origin.partition']}:${m.headers['sluice.origin.offset']}`, m]));
    for (const [where] of invalid) {
      const m = byOrigin.get(where)!;
      expect(m.headers['sluice.stage'], where).toBe('normalize');
      expect(m.headers['sluice.origin.topic']).toBe(input);
      expect(['points', 'ts', 'action']).toContain(m.headers['sluice.field']);
      const [partition, offset] = where.split(':').map(Number);
      expect(m.value, 'the original value, untouched by normalization').toBe(records.find((r) => r.partition === partition && r.offset === offset)!.value);
    }
    const stages = new Set(dead.map((m) => `${m.headers['sluice.reason']}:${m.headers['sluice.stage']}`));
    expect(stages).toContain('late:window');
    for (const pair of stages) if (!pair.startsWith('late:') && !pair.startsWith('invalid:')) expect(pair).toMatch(/:decode$/);
  });
});
