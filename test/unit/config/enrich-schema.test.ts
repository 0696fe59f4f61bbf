import { describe, expect, it } from 'vitest';
import { ENRICH_EXAMPLE, TABLES_EXAMPLE } from '../../../src/config/enrich-schema.ts';
import { configSchema, requiredErrorMap } from '../../../src/config/schema.ts';
import { MINIMAL_CONFIG } from '../../helpers/minimal-config.ts';

const minimal = MINIMAL_CONFIG;

function issuesOf(raw: unknown): { path: PropertyKey[]; message: string }[] {
  const result = configSchema.safeParse(raw, { error: requiredErrorMap });
  return (result.error?.issues ?? []).map((i) => ({ path: i.path, message: i.message }));
}

describe('tables and enrich config', () => {
  it('accepts the documented example, with defaults filled in', () => {
    const config = configSchema.parse({ ...minimal, tables: TABLES_EXAMPLE, enrich: ENRICH_EXAMPLE });
    expect(config.tables.players).toEqual({ source: { topic: 'players' }, global: false });
    expect(config.enrich[1]).toEqual({ table: 'regions', on: 'region', fields: ['regionName'], missing: 'keep' });
    expect(configSchema.parse(minimal)).toMatchObject({ tables: {}, enrich: [] });
  });

  it('reports every problem of the lookups at once', () => {
    const issues = issuesOf({
      ...minimal,
      tables: { players: { source: { topic: 'players' } }, codes: { source: { file: 'codes.csv', key: 'code' }, global: true } },
      enrich: [
        { table: 'nope', on: 'x', fields: ['y'] },
        { table: 'players', on: 'region', fields: ['tier'] },
        { table: 'players', on: 'playerId', fields: [] },
        { table: 'players', on: 'playerId', fields: ['__proto__'] },
      ],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: ['enrich', 2, 'fields'], message: 'copy at least one field' },
        { path: ['enrich', 3, 'fields', 0], message: 'field name "__proto__" is not supported' },
        { path: ['enrich', 0, 'table'], message: 'no table "nope" under tables (tables: players, codes)' },
        { path: ['enrich', 1, 'on'], message: expect.stringMatching(/co-partitioned with the input.*look it up on input.key \("playerId"\), or make it global: true/) },
        { path: ['tables', 'codes', 'global'], message: 'file tables are always whole; global applies to topic tables only' },
      ]),
    );
    expect(issues).toHaveLength(5);
  });

  it('never lets a lookup overwrite the key, the event time or the dedupe id, and finds no table through the prototype', () => {
    const issues = issuesOf({
      ...minimal,
      input: { ...minimal.input, eventTime: { field: 'ts' } },
      dedupe: { idField: 'eventId', ttl: '10m' },
      tables: { regions: { source: { topic: 'regions' }, global: true }, ['__proto__']: { source: { topic: 'x' } } },
      enrich: [{ table: 'regions', on: 'region', fields: ['playerId', 'ts', 'eventId', 'name'] }],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: ['enrich', 0, 'fields', 0], message: '"playerId" is input.key; a lookup may not overwrite it' },
        { path: ['enrich', 0, 'fields', 1], message: '"ts" is input.eventTime.field; a lookup may not overwrite it' },
        { path: ['enrich', 0, 'fields', 2], message: '"eventId" is dedupe.idField; a lookup may not overwrite it' },
      ]),
    );
    expect(issuesOf({ ...minimal, enrich: [{ table: '__proto__', on: 'playerId', fields: ['x'] }] })).toEqual([{ path: ['enrich', 0, 'table'], message: 'no table "__proto__" under tables' }]);
  });

  it('keys topic tables by the record key only, as compaction and tombstones do', () => {
    expect(issuesOf({ ...minimal, tables: { players: { source: { topic: 'players', key: 'playerId' } } } })).not.toEqual([]);
  });

  it('lets a global table be looked up on any field', () => {
    expect(issuesOf({ ...minimal, tables: { regions: { source: { topic: 'regions' }, global: true } }, enrich: [{ table: 'regions', on: 'region', fields: ['name'] }] })).toEqual([]);
  });
});
