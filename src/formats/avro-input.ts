// Avro values: the writer's schema (with its references) becomes an avsc type through the
// registry library, and each payload is read with it. Records decode to plain objects, so a field
// name never resolves to a method of avsc's record class.
import { AvroDeserializer, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import type { SchemaCompiler } from './registry-input.ts';

export function avroCompiler(client: Client): SchemaCompiler {
  // TOPIC: the default strategy asks the registry for subject associations, which can hang.
  const serde = new AvroDeserializer(client, SerdeType.VALUE, { subjectNameStrategyType: SubjectNameStrategyType.TOPIC, omitRecordMethods: true });
  return {
    schemaType: 'AVRO',
    async compile(info) {
      const [type] = await serde.toType(info);
      if (type.typeName !== 'record') return `schema is an Avro ${type.typeName}, not a record`;
      return (payload) => {
        try {
          return { ok: true, event: type.fromBuffer(payload) as Record<string, unknown> };
        } catch (err) {
          return { ok: false, reason: 'undecodable', detail: `value does not decode with its Avro schema: ${(err as Error).message}` };
        }
      };
    },
  };
}
