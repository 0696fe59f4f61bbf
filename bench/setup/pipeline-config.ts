// bench/setup/pipeline.yaml made concrete for one run (topics, group, state, metrics port), and the
// oracle's view of the same parsed config, so the engine and its checker cannot drift apart.
// Whatever sluice derives from a config (topic names, which windows span partitions) is asked of
// src, not worked out again here.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { changelogTopic, mergeChangelogTopic, partialsTopic } from '../../src/model/naming.ts';
import { isCrossPartition } from '../../src/processors/partials.ts';
import type { OracleAggregate, OracleConfig } from '../../test/helpers/oracle.ts';
import type { ClientName } from './options.ts';

const TEMPLATE = fileURLToPath(new URL('./pipeline.yaml', import.meta.url));

export interface RunPipeline {
  config: SluiceConfig;
  /** the YAML handed to `sluice run --config` */
  path: string;
  /** where the YAML, sluice's log and its state go */
  dir: string;
  /** the rewritten config as written, for the report */
  raw: Record<string, unknown>;
}

export interface RunNames {
  brokers: string;
  runId: string;
  stateDir: string;
  metricsPort: number;
  emit: 'update' | 'final';
  outputPartitioning: SluiceConfig['output']['partitioning'];
  /** overrides the template's worker count (default: the number of cores) */
  workers?: number;
  client: ClientName;
}

type Section = Record<string, unknown>;

function readTemplate(emit: 'update' | 'final'): Record<string, Section> {
  const raw = parse(readFileSync(TEMPLATE, 'utf8')) as Record<string, Section>;
  for (const w of raw.windows as unknown as Section[]) w.emit = emit;
  return raw;
}

export function writeRunPipeline(runDir: string, names: RunNames): RunPipeline {
  const raw = readTemplate(names.emit);
  const section = (name: string): Section => (raw[name] ??= {});
  section('kafka').brokers = names.brokers.split(',');
  // Long enough for a loaded 2-core machine, short enough that a crashed run frees its group soon.
  section('kafka').sessionTimeout = '6s';
  section('kafka').client = names.client;
  section('application').id = `bench-${names.runId}`;
  section('application').stateDir = names.stateDir;
  for (const s of ['input', 'output', 'deadLetter']) section(s).topic = `bench-${names.runId}-${String(section(s).topic)}`;
  section('output').partitioning = names.outputPartitioning;
  section('http').port = names.metricsPort;
  section('http').host = '127.0.0.1';
  if (names.workers !== undefined) raw.workers = names.workers as unknown as Section;
  const path = join(runDir, 'pipeline.yaml');
  writeFileSync(path, stringify(raw));
  return { config: parseConfig(raw), path, dir: runDir, raw };
}

/** The template as sluice parses it, for the measurements that run sluice's code in-process. */
export function benchPipeline(emit: 'update' | 'final'): SluiceConfig {
  return parseConfig(readTemplate(emit));
}

export function oracleConfig(config: SluiceConfig): OracleConfig {
  return {
    keyField: config.input.key,
    idField: config.dedupe?.idField,
    ttlMs: config.dedupe?.ttl,
    eventTimeField: config.input.eventTime?.field,
    maxRecordBytes: config.input.maxRecordBytes,
    windows: config.windows.map((w) => ({
      name: w.name,
      groupBy: [...w.groupBy],
      sizeMs: w.sizeMs,
      advanceMs: w.advanceMs,
      graceMs: w.graceMs,
      aggregates: w.aggregates.map(oracleAggregate),
    })),
  };
}

function oracleAggregate(a: SluiceConfig['windows'][number]['aggregates'][number]): OracleAggregate {
  if (a.fn === 'count') return { name: a.name, fn: a.fn };
  if (a.fn === 'quantiles') return { name: a.name, fn: a.fn, field: a.field, quantiles: [...a.quantiles] };
  if (a.fn === 'topK') return { name: a.name, fn: a.fn, field: a.field, k: a.k, by: a.by.fn === 'count' ? { fn: 'count' } : { fn: a.by.fn, field: a.by.field } };
  return { name: a.name, fn: a.fn, field: a.field };
}

/** Windows merged across partitions (docs/semantics.md), each with a partials topic and a merge lane per partition. */
export function crossPartitionWindows(config: SluiceConfig): SluiceConfig['windows'] {
  return config.windows.filter((w) => isCrossPartition({ keyField: config.input.key }, w));
}

/** Lanes of a settled sluice: one per input partition, plus one per partition of each cross-partition window's partials topic. */
export function expectedLanes(config: SluiceConfig, partitions: number): number {
  return partitions * (1 + crossPartitionWindows(config).length);
}

/** Every topic a run of this config reads or writes, its internal topics included. */
export function sluiceTopics(config: SluiceConfig): string[] {
  const appId = config.application.id;
  const merged = crossPartitionWindows(config).flatMap((w) => [partialsTopic(appId, w.name), mergeChangelogTopic(appId, w.name)]);
  return [config.input.topic, config.output.topic, config.deadLetter.topic, changelogTopic(config.application.id), ...merged];
}

/**
 * How many worker threads (consumer-group members) `sluice run` starts for this config: its
 * `workers`, else one per core (src/entry/cli.ts). The ceiling runs as many members, so the ratio
 * compares like with like; the bench checks the log once sluice is up.
 */
export function expectedWorkers(config: SluiceConfig): number {
  return config.workers ?? availableParallelism();
}
