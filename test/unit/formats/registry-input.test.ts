import { AvroSerializer, JsonSerializer, MockClient, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../../src/errors.ts';
import { avroCompiler } from '../../../src/formats/avro-input.ts';
import { jsonSchemaCompiler } from '../../../src/formats/json-schema-input.ts';
import { RegistryInputFormat } from '../../../src/formats/registry-input.ts';
import type { InputRecord } from '../../../src/model/records.ts';

const TOPIC = 'events';
const SUBJECT = `${TOPIC}-value`;
const AVRO_SCHEMA = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'n', type: 'long' }] };
const JSON_SCHEMA = { type: 'object', properties: { id: { type: 'string' }, n: { type: 'integer', minimum: 0 } }, required: ['id', 'n'] };

const records = (...values: (Buffer | null)[]): InputRecord[] => values.map((value, i) => ({ offset: String(i), key: null, value, timestamp: '0' }));

async function avroSetup(): Promise<{ client: MockClient; format: RegistryInputFormat; encode: (v: object) => Promise<Buffer> }> {
  const client = new MockClient();
  const id = await client.register(SUBJECT, { schemaType: 'AVRO', schema: JSON.stringify(AVRO_SCHEMA) });
  const serializer = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id, subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
  return { client, format: new RegistryInputFormat(client, avroCompiler(client), TOPIC), encode: (v) => serializer.serialize(TOPIC, v) };
}

describe('RegistryInputFormat with Avro', () => {
  it('decodes a prepared value into a plain object of its fields', async () => {
    const { format, encode } = await avroSetup();
    const value = await encode({ id: 'a', n: 3 });
    await format.prepare(records(value));
    const decoded = format.decodeValue(value);
    expect(decoded).toEqual({ ok: true, event: { id: 'a', n: 3 } });
    // avsc's record methods would shadow event fields named like them.
    expect(decoded.ok && 'clone' in decoded.event).toBe(false);
  });

  it('names what is wrong with a value it cannot read', async () => {
    const { format, encode } = await avroSetup();
    const value = await encode({ id: 'a', n: 3 });
    const unknown = Buffer.concat([Buffer.from([0, 0, 0, 0x30, 0x39]), value.subarray(5)]);
    await format.prepare(records(value, unknown));
    expect(format.decodeValue(Buffer.from('{"id":"a"}'))).toMatchObject({ ok: false, reason: 'invalid-wire-format', detail: expect.stringMatching(/magic byte/) });
    expect(format.decodeValue(Buffer.from([0, 0, 1]))).toMatchObject({ ok: false, reason: 'invalid-wire-format' });
    expect(format.decodeValue(null)).toMatchObject({ ok: false, reason: 'invalid-wire-format', detail: 'value is empty' });
    expect(format.decodeValue(unknown)).toMatchObject({ ok: false, reason: 'unknown-schema', detail: expect.stringMatching(/schema 12345 is not in the registry/) });
    expect(format.decodeValue(value.subarray(0, 6))).toMatchObject({ ok: false, reason: 'undecodable' });
  });

  it('refuses a schema of another type than the input format', async () => {
    const client = new MockClient();
    const id = await client.register(SUBJECT, { schemaType: 'JSON', schema: JSON.stringify(JSON_SCHEMA) });
    const value = Buffer.concat([Buffer.from([0]), Buffer.from([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]), Buffer.from('{}')]);
    const format = new RegistryInputFormat(client, avroCompiler(client), TOPIC);
    await format.prepare(records(value));
    expect(format.decodeValue(value)).toMatchObject({ ok: false, reason: 'unknown-schema', detail: `schema ${id} is JSON, not AVRO` });
  });

  it('fails the batch, retriably, when the registry fails rather than lacks the schema', async () => {
    const { client, encode } = await avroSetup();
    const value = await encode({ id: 'a', n: 1 });
    const down = Object.create(client) as Client;
    down.getBySubjectAndId = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    const format = new RegistryInputFormat(down, avroCompiler(client), TOPIC);
    const err = await format.prepare(records(value)).catch((e: unknown) => e);
    expect(isSluiceError(err) && err.code).toBe('SLUICE_SCHEMA_REGISTRY_UNREACHABLE');
    expect(isSluiceError(err) && err.canRetry).toBe(true);
  });
});

describe('RegistryInputFormat with JSON Schema', () => {
  it('checks each value against its writer schema and passes on the validator message', async () => {
    const client = new MockClient();
    const id = await client.register(SUBJECT, { schemaType: 'JSON', schema: JSON.stringify(JSON_SCHEMA) });
    const serializer = new JsonSerializer(client, SerdeType.VALUE, { useSchemaId: id, subjectNameStrategyType: SubjectNameStrategyType.TOPIC, validate: false });
    const good = await serializer.serialize(TOPIC, { id: 'a', n: 2 });
    const negative = await serializer.serialize(TOPIC, { id: 'a', n: -1 });
    const notJson = Buffer.concat([good.subarray(0, 5), Buffer.from('{"id":')]);
    const format = new RegistryInputFormat(client, jsonSchemaCompiler(client), TOPIC);
    await format.prepare(records(good, negative, notJson));
    expect(format.decodeValue(good)).toEqual({ ok: true, event: { id: 'a', n: 2 } });
    expect(format.decodeValue(negative)).toMatchObject({ ok: false, reason: 'schema-violation', detail: 'value violates its JSON Schema: /n must be >= 0' });
    expect(format.decodeValue(notJson)).toMatchObject({ ok: false, reason: 'invalid-json' });
  });
});
