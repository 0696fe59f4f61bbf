import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { SluiceError } from '../../../src/errors.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));
const registry = { url: 'http://127.0.0.1:8081/apis/ccompat/v7' };

function withFormats(input: Record<string, unknown>, output: Record<string, unknown> = {}, schemaRegistry?: unknown) {
  return parseConfig({ ...example, input: { ...example.input, ...input }, output: { ...example.output, ...output }, ...(schemaRegistry === undefined ? {} : { schemaRegistry }) }, { baseDir: '/etc/sluice' });
}

function issues(parse: () => unknown): unknown {
  try {
    parse();
  } catch (err) {
    return (err as SluiceError).details;
  }
  return undefined;
}

describe('config of formats and the schema registry', () => {
  it('takes a registry format with a registry, and defaults its timeout', () => {
    const config = withFormats({ format: 'avro' }, { format: 'avro' }, { ...registry, basicAuth: { username: 'u', password: 'p' } });
    expect(config.schemaRegistry).toEqual({ ...registry, basicAuth: { username: 'u', password: 'p' }, timeout: 10_000 });
    expect(config.output.format).toBe('avro');
  });

  it('requires the registry for every format that needs one, naming them', () => {
    expect(issues(() => withFormats({ format: 'protobuf' }, { format: 'avro' }))).toEqual([{ path: 'schemaRegistry', message: 'required by input.format protobuf and output.format avro' }]);
    expect(issues(() => withFormats({ format: 'json-schema' }))).toEqual([{ path: 'schemaRegistry', message: 'required by input.format json-schema' }]);
  });

  it('keeps input.schema to plain JSON and resolves it against the config file', () => {
    expect(withFormats({ schema: 'events.schema.json' }).input.schema).toBe('/etc/sluice/events.schema.json');
    expect(issues(() => withFormats({ format: 'avro', schema: 'events.schema.json' }, {}, registry))).toEqual([{ path: 'input.schema', message: expect.stringMatching(/applies to format json only/) }]);
  });

  it('refuses a groupBy field that cannot name an Avro field when the output is Avro', () => {
    const windows = [{ name: 'w', groupBy: ['player-id'], tumbling: '1m', aggregates: { n: 'count()' } }];
    const raw = { ...example, input: { ...example.input, key: 'player-id' }, windows, output: { ...example.output, format: 'avro' }, schemaRegistry: registry };
    expect(issues(() => parseConfig(raw))).toEqual([{ path: 'windows[0].groupBy[0]', message: expect.stringMatching(/"player-id" cannot be an Avro field name/) }]);
    expect(() => parseConfig({ ...raw, output: example.output })).not.toThrow();
  });

  it('refuses a registry URL that is not http(s)', () => {
    expect(issues(() => withFormats({ format: 'avro' }, {}, { url: 'ftp://registry' }))).toEqual([{ path: 'schemaRegistry.url', message: 'expected an http(s) URL' }]);
  });
});
