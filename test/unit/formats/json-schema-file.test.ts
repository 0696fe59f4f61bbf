import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFileFormat } from '../../../src/formats/json-schema-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-schema-file-'));
function schemaFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('input.schema: plain JSON against a JSON Schema file', () => {
  it('passes a matching object and names the violation of one that is not', () => {
    const path = schemaFile('draft7.json', JSON.stringify({ type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }));
    const { decodeValue } = jsonSchemaFileFormat(path);
    expect(decodeValue(Buffer.from('{"n":1}'))).toEqual({ ok: true, event: { n: 1 } });
    expect(decodeValue(Buffer.from('{"n":"1"}'))).toEqual({ ok: false, reason: 'schema-violation', detail: `value violates ${path}: /n must be number` });
    expect(decodeValue(Buffer.from('[1]'))).toMatchObject({ ok: false, reason: 'invalid-json' });
    expect(decodeValue(null)).toEqual({ ok: false, reason: 'invalid-json', detail: 'value is empty' });
  });

  it('compiles the draft the schema declares', () => {
    // prefixItems exists from draft 2020-12 on; a draft-07 validator would ignore it.
    const path = schemaFile('2020.json', JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { type: 'array', prefixItems: [{ type: 'number' }] } } }));
    const { decodeValue } = jsonSchemaFileFormat(path);
    expect(decodeValue(Buffer.from('{"a":[1]}'))).toMatchObject({ ok: true });
    expect(decodeValue(Buffer.from('{"a":["x"]}'))).toMatchObject({ ok: false, reason: 'schema-violation', detail: expect.stringMatching(/\/a\/0 must be number/) });
  });

  it('fails startup with SLUICE_SCHEMA_FILE_INVALID for a missing, non-JSON or invalid schema', () => {
    expect(() => jsonSchemaFileFormat(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ code: 'SLUICE_SCHEMA_FILE_INVALID', message: expect.stringMatching(/cannot be read as JSON: ENOENT/) }));
    expect(() => jsonSchemaFileFormat(schemaFile('text.json', 'type: object'))).toThrow(expect.objectContaining({ code: 'SLUICE_SCHEMA_FILE_INVALID' }));
    expect(() => jsonSchemaFileFormat(schemaFile('bad.json', '{"type":"objekt"}'))).toThrow(expect.objectContaining({ code: 'SLUICE_SCHEMA_FILE_INVALID', message: expect.stringMatching(/is not a valid JSON Schema/) }));
  });
});
