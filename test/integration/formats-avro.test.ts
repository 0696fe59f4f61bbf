// Avro in the Confluent wire format against the real schema registry and broker, on both clients:
// events written by the registry library's serializer give the same results as JSON, and every
// value that cannot be read is a dead letter with its reason, never a crash.
import { AvroDeserializer, AvroSerializer, SchemaRegistryClient, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import { beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_CLIENTS, readAllCommitted } from '../helpers/kafka.ts';
import { deadLetters, expectedFinals, formatConfig, formatTopics, playerEvents, runPipeline } from '../helpers/formats.ts';
import { schemaRegistryUrl } from '../helpers/schema-registry.ts';

const PLAYER_EVENT = {
  type: 'record',
  name: 'PlayerEvent',
  namespace: 'sluice.test',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'playerId', type: 'string' },
    { name: 'points', type: 'long' },
    { name: 'ts', type: 'long' },
  ],
};

let url: string;
beforeAll(async () => {
  url = await schemaRegistryUrl();
});

function registry(): SchemaRegistryClient {
  return new SchemaRegistryClient({ baseURLs: [url], createAxiosDefaults: { timeout: 10_000 } });
}

describe('the schema registry the tests run', () => {
  it('registers a schema and gives it back by id through the Confluent API', async () => {
    const client = registry();
    const subject = `smoke-${Date.now()}-value`;
    const id = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(PLAYER_EVENT) });
    const info = await client.getBySubjectAndId(subject, id);
    expect(JSON.parse(info.schema)).toMatchObject({ name: 'PlayerEvent', fields: PLAYER_EVENT.fields });
  });
});

describe.each(KAFKA_CLIENTS)('avro input on %s', (client) => {
  it('aggregates Avro events as it does JSON ones and dead-letters what cannot be read', async () => {
    const t = await formatTopics('avro-in');
    // As a producer would: the schema registered under the topic's subject, values written with its id.
    const id = await registry().register(`${t.input}-value`, { schemaType: 'AVRO', schema: JSON.stringify(PLAYER_EVENT) });
    const serializer = new AvroSerializer(registry(), SerdeType.VALUE, { useSchemaId: id, subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
    const encode = (e: object): Promise<Buffer> => serializer.serialize(t.input, e);

    const events = playerEvents();
    const good = await Promise.all(events.map(async (e) => ({ key: e.playerId, value: await encode(e) })));
    const valid = good[1]!.value;
    const bad = [
      { key: 'p2', value: Buffer.from(JSON.stringify(events[1])) },
      { key: 'p2', value: Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x00]), valid.subarray(5)]) },
      { key: 'p2', value: valid.subarray(0, 8) },
      { key: 'p9', value: await encode({ ...events[1]!, eventId: 'mismatch' }) },
    ];
    const records = [...good.slice(0, 10), ...bad, ...good.slice(10)];
    await runPipeline(t, formatConfig(t, client, { input: { format: 'avro' }, schemaRegistry: { url, timeout: '5s' } }), records);

    const out = await readAllCommitted(t.output, 2);
    expect(new Map(out.map((m) => [m.key, JSON.parse(m.value!)]))).toEqual(expectedFinals());
    const dead = await deadLetters(t, bad.length);
    expect(dead.map((m) => m.headers['sluice.reason'])).toEqual(['invalid-wire-format', 'unknown-schema', 'undecodable', 'key-mismatch']);
    expect(dead[0]!.headers['sluice.detail']).toMatch(/magic byte/);
    expect(dead[1]!.headers['sluice.detail']).toMatch(/schema 2147483392 is not in the registry/);
    expect(dead[2]!.headers['sluice.detail']).toMatch(/does not decode with its Avro schema/);
    expect(dead.map((m) => Number(m.headers['sluice.origin.offset']))).toEqual([10, 11, 12, 13]);
  });
});

describe.each(KAFKA_CLIENTS)('avro output on %s', (client) => {
  it('registers the schema derived from the windows under <output.topic>-value and writes results with it', async () => {
    const t = await formatTopics('avro-out');
    const events = playerEvents().map((e) => ({ key: e.playerId, value: JSON.stringify(e) }));
    await runPipeline(t, formatConfig(t, client, { output: { format: 'avro' }, schemaRegistry: { url, timeout: '5s' } }), events);

    const latest = await registry().getLatestSchemaMetadata(`${t.output}-value`);
    expect(JSON.parse(latest.schema!)).toMatchObject({ type: 'record', name: 'per_player', namespace: 'sluice.output' });
    const out = await readAllCommitted(t.output, 2);
    expect(out.every((m) => m.valueBytes!.readInt32BE(1) === latest.id && m.valueBytes![0] === 0), 'every value carries the registered id').toBe(true);
    const reader = new AvroDeserializer(registry(), SerdeType.VALUE, { subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
    const decoded = await Promise.all(out.map(async (m) => [m.key, JSON.parse(JSON.stringify(await reader.deserialize(t.output, m.valueBytes!)))] as const));
    expect(new Map(decoded)).toEqual(expectedFinals());
  });
});
