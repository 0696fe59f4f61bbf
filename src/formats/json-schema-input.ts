// JSON Schema values: JSON text after the wire-format header, checked against the writer's schema
// (with its references) by the validator the registry library compiles for it.
import { JsonDeserializer, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import type { ErrorObject } from 'ajv';
import { jsonObject } from '../processors/json-value.ts';
import type { SchemaCompiler } from './registry-input.ts';

/** ajv's errors as one line: `<path> <message>` each, the way its errorsText writes them. */
export function validationMessage(errors: readonly ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'does not match its schema';
  return errors.map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`).join('; ');
}

export function jsonSchemaCompiler(client: Client): SchemaCompiler {
  const serde = new JsonDeserializer(client, SerdeType.VALUE, { subjectNameStrategyType: SubjectNameStrategyType.TOPIC, validate: true, allErrors: false });
  return {
    schemaType: 'JSON',
    async compile(info) {
      const validate = await serde.toValidateFunction(info);
      if (validate === undefined) return 'the registry library compiled no validator for it';
      return (payload) => {
        const decoded = jsonObject(payload.toString('utf8'));
        if (!decoded.ok || validate(decoded.event)) return decoded;
        return { ok: false, reason: 'schema-violation', detail: `value violates its JSON Schema: ${validationMessage(validate.errors)}` };
      };
    },
  };
}
