import { AvroDeserializer, MockClient, RestError, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { avroOutputEncoder, outputAvroSchema, registerOutputSchema } from '../../../src/formats/avro-output.ts';
import { formatOutput } from '../../../src/processors/output-record.ts';

const base = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  application: { id: 'app' },
  input: { topic: 'in', key: 'playerId' },
  output: { topic: 'results', format: 'avro' },
  deadLetter: { topic: 'dlq' },
  schemaRegistry: { url: 'http://127.0.0.1:8081' },
};
const oneWindow = parseConfig({ ...base, windows: [{ name: 'per_player', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()', best: 'max(score)', mean: 'avg(score)' } }] });
const twoWindows = parseConfig({
  ...base,
  windows: [
    { name: 'per_player', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()' } },
    { name: 'per_action', groupBy: ['playerId', 'action'], tumbling: '5m', aggregates: { points: 'sum(points)' } },
  ],
});

const deserializer = (client: Client) => new AvroDeserializer(client, SerdeType.VALUE, { subjectNameStrategyType: SubjectNameStrategyType.TOPIC });

describe('the Avro output schema', () => {
  it('is one record per window mirroring the JSON output, a union of them for several windows', () => {
    const one = outputAvroSchema(oneWindow.windows) as { name: string; fields: { name: string; type: unknown }[] };
    expect(one.name).toBe('per_player');
    expect(one.fields.map((f) => f.name)).toEqual(['window', 'group', 'start', 'end', 'final', 'values']);
    expect(one.fields[5]!.type).toMatchObject({ fields: [{ name: 'n', type: 'long' }, { name: 'best', type: ['null', 'double'] }, { name: 'mean', type: ['null', 'double'] }] });
    expect((outputAvroSchema(twoWindows.windows) as { name: string }[]).map((r) => r.name)).toEqual(['per_player', 'per_action']);
  });

  it('encodes what the JSON output says, readable by the registry library', async () => {
    for (const config of [oneWindow, twoWindows]) {
      const client = new MockClient();
      const encode = await registerOutputSchema(client, config);
      const w = config.windows[config.windows.length - 1]!;
      const acc = w.aggregates.map((a) => (a.fn === 'avg' ? [12, 4] : 7));
      const group = w.groupBy.map((f) => (f === 'action' ? 'dig' : 'p1'));
      const json = formatOutput(w, group, 60_000, acc, true);
      const avro = formatOutput(w, group, 60_000, acc, true, undefined, encode);
      expect(avro.key).toBe(json.key);
      const decoded = await deserializer(client).deserialize('results', avro.value as Buffer);
      // avsc returns a one-key object for a branch of a union of records.
      const result = config.windows.length > 1 ? decoded[`sluice.output.${w.name}`] : decoded;
      expect(JSON.parse(JSON.stringify(result))).toEqual(JSON.parse(json.value));
    }
  });

  it('keeps a group value a string, number or boolean', async () => {
    const client = new MockClient();
    const encode = await registerOutputSchema(client, oneWindow);
    for (const g of ['1', 1.5, true]) {
      const value = encode({ window: 'per_player', group: { playerId: g }, start: 0, end: 60_000, final: false, values: { n: 1, best: null, mean: null } });
      expect((await deserializer(client).deserialize('results', value)).group.playerId).toBe(g);
    }
  });

  it('fails startup with a code when the registry refuses the schema or fails', async () => {
    const refusing = Object.create(new MockClient()) as Client;
    refusing.register = () => Promise.reject(new RestError('Schema being registered is incompatible with an earlier schema', 409, 409));
    await expect(registerOutputSchema(refusing, oneWindow)).rejects.toMatchObject({ code: 'SLUICE_OUTPUT_SCHEMA_REJECTED', message: expect.stringMatching(/results-value: HTTP 409: Schema being registered is incompatible/) });
    const down = Object.create(new MockClient()) as Client;
    down.register = () => Promise.reject(new Error('timeout of 10000ms exceeded'));
    await expect(registerOutputSchema(down, oneWindow)).rejects.toMatchObject({ code: 'SLUICE_SCHEMA_REGISTRY_UNREACHABLE' });
  });

  it('has closedBy last for a window with closeIdleAfter only: null when stream time closed it, "idle" otherwise', async () => {
    const config = parseConfig({ ...base, windows: [{ name: 'per_player', groupBy: ['playerId'], tumbling: '1m', closeIdleAfter: '30s', aggregates: { n: 'count()' } }] });
    expect((outputAvroSchema(config.windows) as { fields: { name: string }[] }).fields.map((f) => f.name)).toEqual(['window', 'group', 'start', 'end', 'final', 'values', 'closedBy']);
    const client = new MockClient();
    const encode = await registerOutputSchema(client, config);
    const w = config.windows[0]!;
    const read = async (closedBy: 'idle' | undefined) => {
      const json = formatOutput(w, ['p1'], 60_000, [3], true, undefined, undefined, { closedBy });
      const avro = formatOutput(w, ['p1'], 60_000, [3], true, undefined, encode, { closedBy });
      return { json: JSON.parse(String(json.value)) as Record<string, unknown>, avro: JSON.parse(JSON.stringify(await deserializer(client).deserialize('results', avro.value as Buffer))) as Record<string, unknown> };
    };
    const idle = await read('idle');
    expect(idle.avro).toEqual(idle.json);
    expect(idle.avro.closedBy).toBe('idle');
    const byStreamTime = await read(undefined);
    expect(byStreamTime.avro).toEqual({ ...byStreamTime.json, closedBy: null });
  });

  it('writes the id it was given in the wire-format header', () => {
    const value = avroOutputEncoder(outputAvroSchema(oneWindow.windows), 258)({ window: 'per_player', group: { playerId: 'p' }, start: 0, end: 1, final: true, values: { n: 1, best: 2, mean: 2 } });
    expect([...value.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
  });

  it('carries every aggregate result as the JSON output shows it, in a global window and a session window too', () => {
    const config = parseConfig({
      ...base,
      windows: [
        {
          name: 'board',
          groupBy: [],
          tumbling: '1m',
          aggregates: { players: 'countDistinct(playerId)', opening: 'first(action)', closing: 'last(score)', score: 'quantiles(score, [0.5, 0.999])', top: 'topK(playerId, 2, by: sum(points))' },
        },
        { name: 'visits', groupBy: ['playerId'], session: { gap: '5m' }, aggregates: { n: 'count()', best: 'max(score)' } },
      ],
    });
    const schema = outputAvroSchema(config.windows);
    const type = avro.Type.forSchema(schema as avro.Schema);
    const board = { window: 'board', group: {}, start: 0, end: 60_000, final: true, values: { players: 12, opening: 'dig', closing: 7.5, score: { p50: 3, 'p99.9': null }, top: [{ member: 'p1', value: 30 }, { member: 2, value: null }] } };
    const visits = { window: 'visits', group: { playerId: 'p1' }, start: 5, end: 300_105, final: true, values: { n: 3, best: null } };
    for (const result of [board, visits]) {
      const bytes = avroOutputEncoder(schema, 1)(result).subarray(5);
      const read = type.fromBuffer(bytes) as Record<string, unknown>;
      expect(JSON.parse(JSON.stringify(Object.values(read)[0]))).toEqual(result);
    }
  });
});
