// The input format the config asks for: plain JSON (the processors' default, so none here), JSON
// checked against a local schema file, or a Confluent wire format read through the registry.
import type { Client } from '@confluentinc/schemaregistry';
import type { SluiceConfig } from '../config/schema.ts';
import type { InputFormat } from '../model/value-format.ts';
import { avroCompiler } from './avro-input.ts';
import { jsonSchemaFileFormat } from './json-schema-file.ts';
import { jsonSchemaCompiler } from './json-schema-input.ts';
import { protobufCompiler } from './protobuf-input.ts';
import { RegistryInputFormat } from './registry-input.ts';
import type { SchemaCompiler } from './registry-input.ts';

const COMPILERS: Record<Exclude<SluiceConfig['input']['format'], 'json'>, (client: Client) => SchemaCompiler> = {
  avro: avroCompiler,
  'json-schema': jsonSchemaCompiler,
  protobuf: protobufCompiler,
};

/** `registry`: the process's registry client, present whenever the config names a registry. */
export function createInputFormat(config: SluiceConfig, registry: Client | undefined): InputFormat | undefined {
  const { format, schema, topic } = config.input;
  if (format === 'json') return schema === undefined ? undefined : jsonSchemaFileFormat(schema);
  // The config schema refuses a registry format without schemaRegistry.
  if (registry === undefined) throw new Error(`input.format ${format} needs schemaRegistry`);
  return new RegistryInputFormat(registry, COMPILERS[format](registry), topic);
}
