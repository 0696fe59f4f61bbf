// JSON checked against a schema, on both clients against the real broker: in the Confluent wire
// format with the writer's JSON Schema from the real registry, and as plain JSON against a local
// schema file. A value that violates its schema is a dead letter carrying the validator's message.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonSerializer, SchemaRegistryClient, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import { beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_CLIENTS, readAllCommitted } from '../helpers/kafka.ts';
import { deadLetters, expectedFinals, formatConfig, formatTopics, playerEvents, runPipeline } from '../helpers/formats.ts';
import { schemaRegistryUrl } from '../helpers/schema-registry.ts';

const PLAYER_EVENT = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { eventId: { type: 'string' }, playerId: { type: 'string' }, points: { type: 'integer', minimum: 0 }, ts: { type: 'integer' } },
  required: ['eventId', 'playerId', 'points', 'ts'],
};

let url: string;
beforeAll(async () => {
  url = await schemaRegistryUrl();
});

describe.each(KAFKA_CLIENTS)('json-schema input on %s', (client) => {
  it('aggregates values that match their registered schema and dead-letters those that do not', async () => {
    const t = await formatTopics('jsonschema-in');
    const registry = new SchemaRegistryClient({ baseURLs: [url], createAxiosDefaults: { timeout: 10_000 } });
    const id = await registry.register(`${t.input}-value`, { schemaType: 'JSON', schema: JSON.stringify(PLAYER_EVENT) });
    // validate: false, so that the test can write what a careless producer would.
    const serializer = new JsonSerializer(registry, SerdeType.VALUE, { useSchemaId: id, subjectNameStrategyType: SubjectNameStrategyType.TOPIC, validate: false });
    const events = playerEvents();
    const good = await Promise.all(events.map(async (e) => ({ key: e.playerId, value: await serializer.serialize(t.input, e) })));
    const bad = [
      { key: 'p2', value: await serializer.serialize(t.input, { ...events[1]!, points: -5 }) },
      { key: 'p2', value: Buffer.concat([good[1]!.value.subarray(0, 5), Buffer.from('{"eventId":')]) },
      { key: 'p2', value: Buffer.from(JSON.stringify(events[1])) },
    ];
    await runPipeline(t, formatConfig(t, client, { input: { format: 'json-schema' }, schemaRegistry: { url, timeout: '5s' } }), [...good.slice(0, 5), ...bad, ...good.slice(5)]);

    const out = await readAllCommitted(t.output, 2);
    expect(new Map(out.map((m) => [m.key, JSON.parse(m.value!)]))).toEqual(expectedFinals());
    const dead = await deadLetters(t, bad.length);
    expect(dead.map((m) => [m.headers['sluice.reason'], m.headers['sluice.detail']])).toEqual([
      ['schema-violation', 'value violates its JSON Schema: /points must be >= 0'],
      ['invalid-json', expect.stringMatching(/^value is not valid JSON/)],
      ['invalid-wire-format', expect.stringMatching(/magic byte/)],
    ]);
  });
});

describe.each(KAFKA_CLIENTS)('plain JSON with input.schema on %s', (client) => {
  it('dead-letters values that violate the schema file, with the validator message', async () => {
    const t = await formatTopics('jsonfile-in');
    const schemaFile = join(t.stateDir, '..', 'player-event.schema.json');
    writeFileSync(schemaFile, JSON.stringify(PLAYER_EVENT));
    const events = playerEvents();
    const good = events.map((e) => ({ key: e.playerId, value: JSON.stringify(e) }));
    const bad = [
      { key: 'p2', value: JSON.stringify({ ...events[1], points: 'seven' }) },
      { key: 'p2', value: JSON.stringify({ ...events[1], eventId: undefined }) },
      { key: 'p2', value: '{"eventId":' },
    ];
    await runPipeline(t, formatConfig(t, client, { input: { schema: schemaFile } }), [...good.slice(0, 5), ...bad, ...good.slice(5)]);

    const out = await readAllCommitted(t.output, 2);
    expect(new Map(out.map((m) => [m.key, JSON.parse(m.value!)]))).toEqual(expectedFinals());
    const dead = await deadLetters(t, bad.length);
    expect(dead.map((m) => [m.headers['sluice.reason'], m.headers['sluice.detail']])).toEqual([
      ['schema-violation', `value violates ${schemaFile}: /points must be integer`],
      ['schema-violation', `value violates ${schemaFile}: (root) must have required property 'eventId'`],
      ['invalid-json', expect.stringMatching(/^value is not valid JSON/)],
    ]);
  });
});
