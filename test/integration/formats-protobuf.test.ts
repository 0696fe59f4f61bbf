// Protobuf in the Confluent wire format against the real schema registry and broker, on both
// clients: the .proto registered under the topic's subject, values framed with its id and message
// indexes, results equal to those of the same events in JSON, and bad values dead-lettered.
import { SchemaId, SchemaRegistryClient } from '@confluentinc/schemaregistry';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_CLIENTS, readAllCommitted } from '../helpers/kafka.ts';
import { deadLetters, expectedFinals, formatConfig, formatTopics, playerEvents, runPipeline } from '../helpers/formats.ts';
import { schemaRegistryUrl } from '../helpers/schema-registry.ts';

// Field names as sluice reads them; the message after the first shows that indexes are honoured.
const PROTO = `syntax = "proto3";
package sluice.test;

message Heartbeat { int64 at = 1; }

message PlayerEvent {
  string eventId = 1;
  string playerId = 2;
  int64 points = 3;
  int64 ts = 4;
}
`;
const PLAYER_EVENT = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('sluice.test.PlayerEvent');

let url: string;
beforeAll(async () => {
  url = await schemaRegistryUrl();
});

describe.each(KAFKA_CLIENTS)('protobuf input on %s', (client) => {
  it('aggregates Protobuf events as it does JSON ones and dead-letters what cannot be read', async () => {
    const t = await formatTopics('protobuf-in');
    const registry = new SchemaRegistryClient({ baseURLs: [url], createAxiosDefaults: { timeout: 10_000 } });
    const id = await registry.register(`${t.input}-value`, { schemaType: 'PROTOBUF', schema: PROTO });
    const frame = (indexes: number[], payload: Uint8Array) => Buffer.concat([new SchemaId('PROTOBUF', id, undefined, indexes).idToBytes(), payload]);
    const encode = (e: object) => frame([1], PLAYER_EVENT.encode(PLAYER_EVENT.fromObject(e)).finish());

    const events = playerEvents();
    const good = events.map((e) => ({ key: e.playerId, value: encode(e) }));
    const valid = good[1]!.value;
    const bad = [
      { key: 'p2', value: Buffer.from(JSON.stringify(events[1])) },
      { key: 'p2', value: frame([7], PLAYER_EVENT.encode(PLAYER_EVENT.fromObject(events[1]!)).finish()) },
      { key: 'p2', value: valid.subarray(0, valid.length - 2) },
    ];
    await runPipeline(t, formatConfig(t, client, { input: { format: 'protobuf' }, schemaRegistry: { url, timeout: '5s' } }), [...good.slice(0, 10), ...bad, ...good.slice(10)]);

    const out = await readAllCommitted(t.output, 2);
    expect(new Map(out.map((m) => [m.key, JSON.parse(m.value!)]))).toEqual(expectedFinals());
    const dead = await deadLetters(t, bad.length);
    expect(dead.map((m) => [m.headers['sluice.reason'], m.headers['sluice.detail']])).toEqual([
      ['invalid-wire-format', expect.stringMatching(/magic byte/)],
      ['undecodable', expect.stringMatching(/message index 7 is out of range/)],
      ['undecodable', expect.stringMatching(/does not decode with its Protobuf schema/)],
    ]);
  });
});
