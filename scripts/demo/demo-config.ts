// An example pipeline made the demo's: the example file as shipped, with per-run topic names, group
// and state directory (so runs never mix) and the demo's broker and registry.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { StreamClient } from '../../src/clients/port.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';

type Section = Record<string, unknown>;

export interface DemoSettings {
  exampleFile: string;
  run: string;
  brokers: string;
  client: KafkaClientName | undefined;
  /** the registry's URL, asked for only when the example names a registry */
  registryUrl: () => Promise<string>;
}

export async function demoConfig(s: DemoSettings): Promise<SluiceConfig> {
  const raw = parse(readFileSync(s.exampleFile, 'utf8')) as Record<string, Section>;
  const name = String(raw.application!.id);
  const perRun = (topic: unknown) => `demo-${s.run}-${String(topic)}`;
  raw.kafka = { ...raw.kafka, brokers: s.brokers.split(','), ...(s.client ? { client: s.client } : {}) };
  raw.application = { ...raw.application, id: `${name}-demo-${s.run}`, stateDir: mkdtempSync(join(tmpdir(), 'sluice-demo-')) };
  if (raw.schemaRegistry !== undefined) raw.schemaRegistry = { ...raw.schemaRegistry, url: await s.registryUrl() };
  // Beside other runs and the tests: no port of its own.
  raw.http = { ...raw.http, port: 0 };
  for (const section of ['input', 'output', 'deadLetter'] as const) raw[section]!.topic = perRun(raw[section]!.topic);
  for (const table of Object.values(raw.tables ?? {}) as { source: Section }[]) {
    if (table.source.topic !== undefined) table.source.topic = perRun(table.source.topic);
  }
  return parseConfig(raw);
}

/** The input topic and every topic table (compacted), all with `partitions`: co-partitioned tables need the input's count. */
export async function createDemoTopics(client: StreamClient, config: SluiceConfig, partitions: number): Promise<void> {
  const tables = Object.values(config.tables).flatMap((t) => ('topic' in t.source ? [t.source.topic] : []));
  await client.topics.createTopics([
    { topic: config.input.topic, partitions },
    ...tables.map((topic) => ({ topic, partitions, configs: { 'cleanup.policy': 'compact' } })),
  ]);
}
