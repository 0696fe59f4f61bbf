// The input format the config asks for: plain JSON (the processors' default, so none here), JSON
// checked against a local schema file, or a Confluent wire format read through the registry.
import type { Client } from '@confluentinc/schemaregistry';
import type { SluiceConfig } from '../config/schema.ts';
import type { InputFormat } from '../model/value-format.ts';
import { avroCompiler } from './avro-input.ts';
import { jsonSchemaFileFormat } from './json-schema-file.ts';
import { jsonSchemaCompiler } from './json-schema-input.ts';
import { RegistryInputFormat } from './registry-input.ts';
import type { SchemaCompiler } from './registry-input.ts';

const COMPILERS: Record<string, (client: Client) => SchemaCompiler> = {
  avro: avroCompiler,
  'json-schema': jsonSchemaCompiler,
};

/** `registry`: the process's registry client, present whenever the config names a registry. */
export function createInputFormat(config: SluiceConfig, registry: Client | undefined): InputFormat | undefined {
  const { format, schema, topic } = config.input;
  if (format === 'json') return schema === undefined ? undefined : jsonSchemaFileFormat(schema);
  const compiler = COMPILERS[format];
  if (compiler === undefined) throw new Error(`input.format ${format} has no decoder`);
  // The config schema refuses a registry format without schemaRegistry.
  if (registry === undefined) throw new Error(`input.format ${format} needs schemaRegistry`);
  return new RegistryInputFormat(registry, compiler(registry), topic);
}
