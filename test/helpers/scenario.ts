// One end-to-end scenario: fresh topics, a generated stream, its oracle, a pipeline config file,
// and the checks that compare what sluice committed with what the oracle says it must.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import type { RunningPipeline } from '../../src/entry/app.ts';
import type { Logger } from '../../src/log.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { DEFAULT_TEST_PIPELINE, generateStream, pipelineYaml, skewedOrder, withClosingRecords } from './event-stream.ts';
import type { GeneratedRecord } from './event-stream.ts';
import { createTopics, produceToPartitions, readAllCommitted, sharedBroker, uniqueName, waitForCommittedEnd } from './kafka.ts';
import type { KafkaTarget } from './kafka.ts';
import { runCrossPartitionOracle, runOracle } from './oracle.ts';
import type { OracleResult } from './oracle.ts';
import { withinSketchBounds } from './sketch-bounds.ts';
import { testPipeline } from './test-pipeline.ts';
import type { TestPipelineName } from './test-pipeline.ts';

export { skewedOrder } from './event-stream.ts';

/**
 * `cross` adds a window grouped by region, merged across partitions (CROSS_TEST_PIPELINE);
 * `aggregates` has every aggregate in a direct, a cross-partition and a global window.
 */
export type ScenarioPipeline = TestPipelineName;

/** `skewed`: partition 0's records all go first (see skewedOrder). */
export type ProduceOrder = 'interleaved' | 'skewed';

export interface Scenario {
  name: string;
  dir: string;
  configFile: string;
  config: SluiceConfig;
  appId: string;
  input: string;
  output: string;
  dlq: string;
  partitions: number;
  records: GeneratedRecord[];
  oracle: OracleResult;
  pipeline: ScenarioPipeline;
  produceOrder: ProduceOrder;
  /** undefined: the project's broker */
  broker?: ScenarioBroker;
}

/** Another broker than the project's: how the helpers reach it, and the pipeline's `kafka` keys (e.g. ssl, sasl) beside its brokers. */
export interface ScenarioBroker {
  target: KafkaTarget;
  pipelineKafka: Record<string, unknown>;
}

export interface ScenarioOptions {
  name: string;
  partitions: number;
  events: number;
  seed: number;
  guarantee?: 'exactly-once' | 'at-least-once';
  stepMs?: number;
  pipeline?: ScenarioPipeline;
  /** How produce() orders the records it is given. */
  produceOrder?: ProduceOrder;
  /** Partitions that get no records at all, closing records included; the topic still has them. */
  emptyPartitions?: readonly number[];
  /** the Kafka client the engine runs on (`kafka.client`); default kafkajs */
  client?: KafkaClientName;
  /** default: the project's broker */
  broker?: ScenarioBroker;
}

export async function createScenario(opts: ScenarioOptions): Promise<Scenario> {
  const pipeline = opts.pipeline ?? 'default';
  const dir = mkdtempSync(join(tmpdir(), `sluice-${opts.name}-`));
  const appId = uniqueName(opts.name);
  const input = `${appId}-in`;
  const output = `${appId}-out`;
  const dlq = `${appId}-dlq`;
  const target = opts.broker?.target;
  await createTopics([{ topic: input, numPartitions: opts.partitions }], target);
  const empty = new Set(opts.emptyPartitions ?? []);
  const records = withClosingRecords(generateStream({ seed: opts.seed, partitions: opts.partitions, events: opts.events, stepMs: opts.stepMs ?? 150 }), opts.partitions).filter((r) => !empty.has(r.partition));
  const oracle = pipeline === 'default' ? runOracle(records, DEFAULT_TEST_PIPELINE) : pipeline === 'sessions' ? runOracle(records, testPipeline(pipeline)) : runCrossPartitionOracle(records, testPipeline(pipeline), opts.partitions);
  const configFile = join(dir, 'pipeline.yaml');
  writeFileSync(configFile, pipelineYaml({ brokers: (target ?? sharedBroker()).brokers.join(','), appId, input, output, dlq, stateDir: join(dir, 'state'), guarantee: opts.guarantee, windows: pipeline, client: opts.client, kafka: opts.broker?.pipelineKafka }));
  const produceOrder = opts.produceOrder ?? 'interleaved';
  return { name: opts.name, dir, configFile, config: loadConfigFile(configFile), appId, input, output, dlq, partitions: opts.partitions, records, oracle, pipeline, produceOrder, broker: opts.broker };
}

/** Same scenario, another instance: its own state directory, as on another machine. */
export function configForInstance(s: Scenario, instance: string): string {
  const file = join(s.dir, `pipeline-${instance}.yaml`);
  writeFileSync(file, pipelineYaml({ brokers: (s.broker?.target ?? sharedBroker()).brokers.join(','), kafka: s.broker?.pipelineKafka, appId: s.appId, input: s.input, output: s.output, dlq: s.dlq, stateDir: join(s.dir, `state-${instance}`), windows: s.pipeline }));
  return file;
}

export async function produce(s: Scenario, records: readonly GeneratedRecord[] = s.records): Promise<void> {
  await produceToPartitions(s.input, s.produceOrder === 'skewed' ? skewedOrder(records) : records, s.broker?.target);
}

export async function waitUntilProcessed(s: Scenario, timeoutMs = 180_000, onTick?: () => void): Promise<void> {
  await waitForCommittedEnd(s.appId, s.input, timeoutMs, onTick, s.broker?.target);
}

/**
 * How long the output must stay unchanged before it counts as complete. Merge lanes write
 * cross-partition finals after the input offsets are committed, so those get longer.
 */
export function outputQuietMs(s: Scenario): number {
  return s.pipeline === 'default' || s.pipeline === 'sessions' ? 2000 : 3000;
}

/** Output and dead letters, read_committed, must equal the oracle: nothing lost, nothing twice. */
export async function expectOracleOutput(s: Scenario): Promise<void> {
  const out = await readAllCommitted(s.output, s.oracle.finals.size, outputQuietMs(s), undefined, s.broker?.target);
  const keys = out.map((m) => m.key ?? '');
  const dupKeys = keys.filter((k, i) => keys.indexOf(k) !== i);
  expect(dupKeys, 'each window and group is written exactly once').toEqual([]);
  const got = new Map(out.map((m) => [m.key ?? '', JSON.parse(m.value ?? 'null') as unknown]));
  const missing = [...s.oracle.finals.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !s.oracle.finals.has(k));
  expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5), missingCount: missing.length, extraCount: extra.length }).toEqual({ missing: [], extra: [], missingCount: 0, extraCount: 0 });
  const windows = new Map(testPipeline(s.pipeline).windows.map((w) => [w.name, w]));
  for (const [k, v] of s.oracle.finals) expect(got.get(k), k).toEqual(withinSketchBounds(v, got.get(k), windows.get(v.window)!));

  const dead = await readAllCommitted(s.dlq, s.oracle.deadLetters.size, undefined, undefined, s.broker?.target);
  const gotDead = new Map(dead.map((m) => [`${m.headers['sluice.origin.partition']}:${m.headers['sluice.origin.offset']}`, m.headers['sluice.reason']]));
  expect(dead.length, 'one dead letter per bad record').toBe(s.oracle.deadLetters.size);
  expect(Object.fromEntries(gotDead)).toEqual(Object.fromEntries(s.oracle.deadLetters));
}

/**
 * Runs the pipeline in process over the first half of the scenario's records, stops it, deletes
 * its state directory and runs it over the rest: the second run rebuilds every partition's state
 * from the changelog alone. `check` runs against the second run once it has processed everything;
 * then the output must equal the oracle.
 */
export async function runWithFullRestore(s: Scenario, log: Logger, check: (second: RunningPipeline) => Promise<void>): Promise<void> {
  const half = Math.floor(s.records.length / 2);
  await produce(s, s.records.slice(0, half));
  const first = await startPipeline(s.config, log);
  try {
    await waitUntilProcessed(s);
  } finally {
    await first.stop();
  }
  rmSync(s.config.application.stateDir, { recursive: true, force: true });
  await produce(s, s.records.slice(half));
  const second = await startPipeline(s.config, log);
  try {
    await waitUntilProcessed(s);
    await check(second);
    await expectOracleOutput(s);
  } finally {
    await second.stop();
  }
}
