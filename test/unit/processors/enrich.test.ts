import { describe, expect, it } from 'vitest';
import { Enricher, tableFields } from '../../../src/processors/enrich.ts';
import { compileDecoder } from '../../../src/processors/decode.ts';
import type { EnrichSpec, PipelineSpec } from '../../../src/processors/types.ts';
import type { TableRows } from '../../../src/model/store-ports.ts';

/** rows given as objects; stored as the enricher expects: projected to tableFields order */
function rowsOf(fields: readonly string[], rows: Record<string, Record<string, unknown>>): TableRows {
  const map = new Map(Object.entries(rows).map(([k, r]) => [k, fields.map((f) => r[f])]));
  return { get: (key) => map.get(key) };
}

const PLAYERS = { p1: { tier: 'gold', region: 'eu' }, '12': { tier: 'silver', region: 'us' }, p3: { tier: 'bronze' } };
const REGIONS = { eu: { regionName: 'Europe' }, us: { regionName: 'Americas' } };

function enricher(steps: EnrichSpec[]): Enricher {
  const fields = tableFields(steps);
  return new Enricher(steps, new Map([
    ['players', rowsOf(fields.get('players') ?? [], PLAYERS)],
    ['regions', rowsOf(fields.get('regions') ?? [], REGIONS)],
  ]));
}

const players = (missing: EnrichSpec['missing'], fields = ['tier', 'region']): EnrichSpec => ({ table: 'players', on: 'playerId', fields, missing });
const regions: EnrichSpec = { table: 'regions', on: 'region', fields: ['regionName'], missing: 'keep' };

describe('tableFields', () => {
  it('keeps each table\'s copied fields once, in first-use order', () => {
    const steps = [players('keep', ['tier']), regions, players('keep', ['region', 'tier'])];
    expect(tableFields(steps)).toEqual(new Map([['players', ['tier', 'region']], ['regions', ['regionName']]]));
  });
});

describe('Enricher', () => {
  it('copies the row\'s fields, and a later step can look up what an earlier one copied', () => {
    const e = enricher([players('keep'), regions]);
    const event: Record<string, unknown> = { playerId: 'p1', points: 3 };
    expect(e.apply(event)).toBeUndefined();
    expect(event).toEqual({ playerId: 'p1', points: 3, tier: 'gold', region: 'eu', regionName: 'Europe' });
  });

  it('looks numbers up as text and leaves a field the row lacks as the event has it', () => {
    const e = enricher([players('dead-letter')]);
    const numeric: Record<string, unknown> = { playerId: 12 };
    expect(e.apply(numeric)).toBeUndefined();
    expect(numeric).toEqual({ playerId: 12, tier: 'silver', region: 'us' });
    const partial: Record<string, unknown> = { playerId: 'p3', region: 'mine' };
    expect(e.apply(partial)).toBeUndefined();
    expect(partial).toEqual({ playerId: 'p3', tier: 'bronze', region: 'mine' });
  });

  it('keeps, drops or dead-letters a miss as the step says, and counts every miss', () => {
    const keep = enricher([players('keep')]);
    const kept: Record<string, unknown> = { playerId: 'nobody' };
    expect(keep.apply(kept)).toBeUndefined();
    expect(kept).toEqual({ playerId: 'nobody' });

    const dlq = enricher([players('dead-letter')]);
    expect(dlq.apply({ playerId: 'nobody' })).toMatchObject({ table: 'players', missing: 'dead-letter', field: 'playerId', detail: 'table "players" has no row with key "nobody"' });
    expect(dlq.apply({ playerId: { nested: true } })?.detail).toMatch(/not a string, number or boolean/);
    expect(dlq.apply({})?.detail).toMatch(/missing or null/);

    const drop = enricher([players('drop')]);
    expect(drop.apply({ playerId: 'nobody' })?.missing).toBe('drop');
    expect(drop.takeMisses()).toEqual(new Map([['players|drop', 1]]));
    expect(drop.takeMisses()).toEqual(new Map());
    expect(dlq.takeMisses()).toEqual(new Map([['players|dead-letter', 3]]));
    expect(keep.takeMisses()).toEqual(new Map([['players|keep', 1]]));
  });

  it('never reads the lookup field through the prototype', () => {
    const e = enricher([{ table: 'players', on: 'constructor', fields: ['tier'], missing: 'dead-letter' }]);
    expect(e.apply({})?.detail).toMatch(/missing or null/);
  });
});

describe('decoding with enrichment', () => {
  const spec: PipelineSpec = {
    keyField: 'playerId',
    idField: undefined,
    dedupeTtlMs: undefined,
    eventTimeField: undefined,
    maxRecordBytes: 1 << 20,
    windows: [{ name: 'w', groupBy: ['playerId', 'region'], kind: 'tumbling', sizeMs: 60_000, advanceMs: 60_000, graceMs: 0, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
  };
  const value = (o: unknown) => Buffer.from(JSON.stringify(o));

  it('validates the fields enrichment copied in, so a window may group by one', () => {
    const decode = compileDecoder(spec, undefined, enricher([players('keep')]));
    const ok = decode(Buffer.from('p1'), value({ playerId: 'p1' }), 0);
    expect(ok).toMatchObject({ ok: true, event: { region: 'eu' } });
    // kept without a row: the group field is still missing, and says so
    expect(decode(Buffer.from('zz'), value({ playerId: 'zz' }), 0)).toMatchObject({ ok: false, reason: 'missing-field', field: 'region' });
  });

  it('reports a dead-letter miss as enrich-miss and a dropped one as a drop', () => {
    expect(compileDecoder(spec, undefined, enricher([players('dead-letter')]))(Buffer.from('zz'), value({ playerId: 'zz' }), 0)).toMatchObject({ ok: false, reason: 'enrich-miss', field: 'playerId' });
    const dropped = compileDecoder(spec, undefined, enricher([players('drop')]))(Buffer.from('zz'), value({ playerId: 'zz' }), 0);
    expect(dropped).toMatchObject({ ok: false, reason: 'enrich-miss', drop: true });
  });
});
