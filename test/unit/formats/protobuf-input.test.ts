import { MockClient, SchemaId } from '@confluentinc/schemaregistry';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { protobufCompiler } from '../../../src/formats/protobuf-input.ts';
import { RegistryInputFormat } from '../../../src/formats/registry-input.ts';
import type { InputRecord } from '../../../src/model/records.ts';

const TOPIC = 'events';
const PROTO = `syntax = "proto3";
package sluice.test;

import "google/protobuf/timestamp.proto";

enum Action { DIG = 0; TRADE = 1; }

message PlayerEvent {
  string player_id = 1;
  int64 points = 2;
  Action action = 3;
  message Detail { string note = 1; }
  Detail detail = 4;
  google.protobuf.Timestamp at = 5;
}

message Other { string other_id = 1; }
`;

async function setup(): Promise<{ format: RegistryInputFormat; encode: (type: string, value: object, indexes: number[]) => Buffer }> {
  const client = new MockClient();
  const id = await client.register(`${TOPIC}-value`, { schemaType: 'PROTOBUF', schema: PROTO });
  const root = protobuf.parse(PROTO, { keepCase: true }).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  const encode = (type: string, value: object, indexes: number[]) => {
    const t = root.lookupType(type);
    return Buffer.concat([new SchemaId('PROTOBUF', id, undefined, indexes).idToBytes(), Buffer.from(t.encode(t.fromObject(value)).finish())]);
  };
  return { format: new RegistryInputFormat(client, protobufCompiler(client), TOPIC), encode };
}

const records = (...values: Buffer[]): InputRecord[] => values.map((value, i) => ({ offset: String(i), key: null, value, timestamp: '0' }));

describe('RegistryInputFormat with Protobuf', () => {
  it('decodes the message the indexes name as proto3 JSON with .proto field names and numbers for int64', async () => {
    const { format, encode } = await setup();
    const event = encode('sluice.test.PlayerEvent', { player_id: 'p1', points: 2 ** 40, action: 'TRADE', detail: { note: 'n' }, at: { seconds: 1_704_067_200, nanos: 0 } }, [0]);
    const zero = encode('sluice.test.PlayerEvent', { player_id: 'p2' }, [0]);
    const other = encode('sluice.test.Other', { other_id: 'o' }, [1]);
    const nested = encode('sluice.test.PlayerEvent.Detail', { note: 'x' }, [0, 0]);
    await format.prepare(records(event, zero, other, nested));
    expect(format.decodeValue(event)).toEqual({ ok: true, event: { player_id: 'p1', points: 2 ** 40, action: 'TRADE', detail: { note: 'n' }, at: '2024-01-01T00:00:00Z' } });
    // proto3 does not tell an absent scalar from its default; an absent message is absent.
    expect(format.decodeValue(zero)).toEqual({ ok: true, event: { player_id: 'p2', points: 0, action: 'DIG' } });
    expect(format.decodeValue(other)).toEqual({ ok: true, event: { other_id: 'o' } });
    expect(format.decodeValue(nested)).toEqual({ ok: true, event: { note: 'x' } });
  });

  it('dead-letters a message index the schema lacks and a payload that does not decode', async () => {
    const { format, encode } = await setup();
    const event = encode('sluice.test.PlayerEvent', { player_id: 'p1', points: 2 ** 40 }, [0]);
    const wrongIndex = encode('sluice.test.PlayerEvent', { player_id: 'p1' }, [5]);
    // Cut inside the 6-byte points varint: protobufjs would read a smaller number without an error.
    const truncated = event.subarray(0, event.length - 2);
    await format.prepare(records(event, wrongIndex, truncated));
    expect(format.decodeValue(wrongIndex)).toMatchObject({ ok: false, reason: 'undecodable', detail: expect.stringMatching(/message index 5 is out of range: the schema declares 2 message\(s\) there/) });
    expect(format.decodeValue(truncated)).toMatchObject({ ok: false, reason: 'undecodable', detail: expect.stringMatching(/does not decode with its Protobuf schema/) });
  });
});
