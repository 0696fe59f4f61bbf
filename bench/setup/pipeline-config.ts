// bench/pipeline.yaml made concrete for one run (topics, group, state, metrics port), and the
// oracle's view of the same parsed config, so the engine and its checker cannot drift apart.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import type { OracleConfig } from '../../test/helpers/oracle.ts';

export interface RunPipeline {
  config: SluiceConfig;
  /** the YAML handed to `sluice run --config` */
  path: string;
  /** the rewritten config as written, for the report */
  raw: Record<string, unknown>;
}

export interface RunNames {
  brokers: string;
  runId: string;
  stateDir: string;
  metricsPort: number;
  emit: 'update' | 'final';
  /** overrides the template's worker count (default: the number of cores) */
  workers?: number;
  client: 'kafkajs' | 'platformatic';
}

type Section = Record<string, unknown>;

export function writeRunPipeline(template: string, runDir: string, names: RunNames): RunPipeline {
  const raw = parse(readFileSync(template, 'utf8')) as Record<string, Section>;
  const section = (name: string): Section => (raw[name] ??= {});
  section('kafka').brokers = names.brokers.split(',');
  // Long enough for a loaded 2-core machine, short enough that a crashed run frees its group soon.
  section('kafka').sessionTimeout = '6s';
  section('kafka').client = names.client;
  section('application').id = `bench-${names.runId}`;
  section('application').stateDir = names.stateDir;
  for (const s of ['input', 'output', 'deadLetter']) section(s).topic = `bench-${names.runId}-${String(section(s).topic)}`;
  section('metrics').port = names.metricsPort;
  section('metrics').host = '127.0.0.1';
  for (const w of raw.windows as unknown as Section[]) w.emit = names.emit;
  if (names.workers !== undefined) raw.workers = names.workers as unknown as Section;
  const path = join(runDir, 'pipeline.yaml');
  writeFileSync(path, stringify(raw));
  return { config: parseConfig(raw), path, raw };
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
      aggregates: w.aggregates.map((a) => (a.field === undefined ? { name: a.name, fn: a.fn } : { name: a.name, fn: a.fn, field: a.field })),
    })),
  };
}

/** Windows not grouped by the input key are merged across partitions (docs/semantics.md). */
export function hasCrossPartitionWindows(config: SluiceConfig): boolean {
  return config.windows.some((w) => w.groupBy[0] !== config.input.key);
}

/** Lanes of a settled sluice: one per input partition, plus one per partition of each cross-partition window's partials topic. */
export function expectedLanes(config: SluiceConfig, partitions: number): number {
  return partitions * (1 + config.windows.filter((w) => w.groupBy[0] !== config.input.key).length);
}

/**
 * How many worker threads (consumer-group members) `sluice run` will start for this config: its
 * `workers`, else one per core, on a sluice that has workers at all. The ceiling runs as many
 * members, so the ratio compares like with like; the bench checks the log once sluice is up.
 */
export function expectedWorkers(config: SluiceConfig): number {
  if (!('workers' in configSchema.shape)) return 1;
  return (config as { workers?: number }).workers ?? availableParallelism();
}
