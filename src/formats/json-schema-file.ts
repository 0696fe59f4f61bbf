// Plain JSON values checked against a local JSON Schema file (`input.schema`), compiled once at
// startup by ajv into a validator, so a record costs one JSON.parse and one compiled check.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { sluiceError } from '../errors.ts';
import type { InputFormat } from '../model/value-format.ts';
import { parseJsonValue } from '../processors/json-value.ts';
import { validationMessage } from './json-schema-input.ts';

/** ajv's class for the draft the schema declares; draft-07 (ajv's default) when it declares none. */
function validatorFor(schema: unknown): Ajv {
  const declared = typeof schema === 'object' && schema !== null ? String((schema as { $schema?: unknown }).$schema ?? '') : '';
  const options = { allErrors: false, strict: false };
  if (declared.includes('2020-12')) return new Ajv2020(options);
  if (declared.includes('2019-09')) return new Ajv2019(options);
  return new Ajv(options);
}

export function jsonSchemaFileFormat(path: string): InputFormat {
  const invalid = (why: string, cause?: unknown) => sluiceError('SLUICE_SCHEMA_FILE_INVALID', `input.schema ${path} ${why}`, { cause });
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw invalid(`cannot be read as JSON: ${(err as Error).message}`, err);
  }
  let validate: ReturnType<Ajv['compile']>;
  try {
    validate = validatorFor(schema).compile(schema as object);
  } catch (err) {
    throw invalid(`is not a valid JSON Schema: ${(err as Error).message}`, err);
  }
  return {
    decodeValue: (value) => {
      const decoded = parseJsonValue(value);
      if (!decoded.ok || validate(decoded.event)) return decoded;
      return { ok: false, reason: 'schema-violation', detail: `value violates ${path}: ${validationMessage(validate.errors)}` };
    },
  };
}
