import { describe, expect, it } from 'vitest';
import { compileDecoder, parseEventTime } from '../../../src/processors/decode.ts';
import type { DecodeResult } from '../../../src/processors/decode.ts';
import type { PipelineSpec, WindowSpec } from '../../../src/processors/types.ts';

const W1: WindowSpec = {
  name: 'per_player_1m',
  groupBy: ['playerId', 'region'],
  kind: 'tumbling',
  sizeMs: 60_000,
  advanceMs: 60_000,
  graceMs: 5000,
  emit: 'final',
  aggregates: [
    { name: 'actions', fn: 'count', field: undefined },
    { name: 'points', fn: 'sum', field: 'points' },
  ],
};
const W2: WindowSpec = {
  ...W1,
  name: 'per_team_5m',
  groupBy: ['team'],
  aggregates: [{ name: 'best', fn: 'max', field: 'score' }],
};
const SPEC: PipelineSpec = {
  keyField: 'playerId',
  idField: 'eventId',
  dedupeTtlMs: 60_000,
  eventTimeField: 'ts',
  maxRecordBytes: 256,
  windows: [W1, W2],
};

const GOOD = { eventId: 'e1', ts: 1_700_000_000_000, playerId: 'p1', region: 'eu', team: 7, points: 10, score: 3 };
const decode = compileDecoder(SPEC);
const buf = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const run = (event: unknown, key: string | null = 'p1', ts = 42): DecodeResult => decode(key === null ? null : buf(key), buf(event), ts);

function failure(r: DecodeResult): { reason: string; field: string | undefined } {
  if (r.ok) throw new Error('expected a failure');
  expect(r.detail.length).toBeGreaterThan(0);
  return { reason: r.reason, field: r.field };
}

describe('decode success', () => {
  it('returns the event, event time and id', () => {
    const r = run(GOOD);
    expect(r).toEqual({ ok: true, event: GOOD, eventTime: 1_700_000_000_000, id: 'e1' });
  });

  it('stringifies numeric ids and keys', () => {
    const r = run({ ...GOOD, eventId: 17, playerId: 5 }, '5');
    expect(r.ok && r.id).toBe('17');
  });

  it('uses the record timestamp without an event-time field, and no id without idField', () => {
    const d = compileDecoder({ ...SPEC, eventTimeField: undefined, idField: undefined, dedupeTtlMs: undefined });
    const r = d(buf('p1'), buf({ ...GOOD, ts: 'garbage', eventId: undefined }), 1234);
    expect(r).toEqual({ ok: true, event: { ...GOOD, ts: 'garbage', eventId: undefined }, eventTime: 1234, id: undefined });
  });

  it('accepts ISO-8601 event times with a zone, and date-only as UTC', () => {
    expect(run({ ...GOOD, ts: '2023-11-14T22:13:20Z' })).toMatchObject({ ok: true, eventTime: 1_700_000_000_000 });
    expect(run({ ...GOOD, ts: '2023-11-14T23:13:20.000+01:00' })).toMatchObject({ ok: true, eventTime: 1_700_000_000_000 });
    expect(parseEventTime('2023-11-14')).toBe(Date.UTC(2023, 10, 14));
    expect(parseEventTime(-5)).toBe(-5);
  });

  it('accepts a value of exactly maxRecordBytes', () => {
    const base = JSON.stringify({ ...GOOD, pad: '' });
    const pad = 'x'.repeat(SPEC.maxRecordBytes - Buffer.byteLength(base));
    const r = decode(buf('p1'), buf({ ...GOOD, pad }), 0);
    expect(r.ok).toBe(true);
  });
});

describe('decode failures', () => {
  it('oversized', () => {
    const r = decode(buf('p1'), Buffer.alloc(SPEC.maxRecordBytes + 1, 0x20), 0);
    expect(failure(r)).toEqual({ reason: 'oversized', field: undefined });
  });

  it.each([
    ['null value', null],
    ['empty value', Buffer.alloc(0)],
    ['unparseable', buf('{"a":')],
    ['array', buf([1, 2])],
    ['string', buf('"hi"')],
    ['number', buf('3')],
    ['JSON null', buf('null')],
  ])('invalid-json: %s', (_name, value) => {
    expect(failure(decode(buf('p1'), value, 0))).toEqual({ reason: 'invalid-json', field: undefined });
  });

  it('missing-field for the id (absent or null)', () => {
    expect(failure(run({ ...GOOD, eventId: undefined }))).toEqual({ reason: 'missing-field', field: 'eventId' });
    expect(failure(run({ ...GOOD, eventId: null }))).toEqual({ reason: 'missing-field', field: 'eventId' });
  });

  it.each([true, { a: 1 }, [1]])('invalid-id for %j', (eventId) => {
    expect(failure(run({ ...GOOD, eventId }))).toEqual({ reason: 'invalid-id', field: 'eventId' });
  });

  it('missing-field and invalid-event-time for the event time', () => {
    expect(failure(run({ ...GOOD, ts: null }))).toEqual({ reason: 'missing-field', field: 'ts' });
    for (const ts of ['yesterday', '1700000000000', '2023-11-14T22:13:20', 'Tue, 14 Nov 2023 22:13:20 GMT', true, {}]) {
      expect(failure(run({ ...GOOD, ts }))).toEqual({ reason: 'invalid-event-time', field: 'ts' });
    }
    // JSON can spell a number too large for a double.
    const r = decode(buf('p1'), buf(JSON.stringify(GOOD).replace('1700000000000', '1e999')), 0);
    expect(failure(r)).toEqual({ reason: 'invalid-event-time', field: 'ts' });
  });

  it('values that LMDB and JSON would not keep alike, or that compare equal to everything, are refused', () => {
    const raw = (patch: string) => failure(decode(buf('p1'), buf(JSON.stringify(GOOD).replace('}', `,${patch}}`)), 0));
    const lone = JSON.stringify('\ud800');
    // Later keys win in JSON.parse, so the patch replaces GOOD's value.
    expect(raw(`"region":${lone}`)).toEqual({ reason: 'invalid-group', field: 'region' });
    expect(raw('"team":1e999')).toEqual({ reason: 'invalid-group', field: 'team' });
    expect(raw(`"eventId":${lone}`)).toEqual({ reason: 'invalid-id', field: 'eventId' });
    // Beyond a Date's range a window size added to the time no longer changes it.
    expect(raw('"ts":1e22')).toEqual({ reason: 'invalid-event-time', field: 'ts' });
    expect(decode(buf('p1'), buf(JSON.stringify(GOOD).replace('}', ',"ts":8640000000000000}')), 0).ok).toBe(true);
  });

  it('missing-field for groupBy fields', () => {
    expect(failure(run({ ...GOOD, region: undefined }))).toEqual({ reason: 'missing-field', field: 'region' });
    expect(failure(run({ ...GOOD, team: null }))).toEqual({ reason: 'missing-field', field: 'team' });
  });

  it('missing-field and not-a-number for aggregate fields; count needs no field', () => {
    expect(failure(run({ ...GOOD, points: undefined }))).toEqual({ reason: 'missing-field', field: 'points' });
    expect(failure(run({ ...GOOD, score: null }))).toEqual({ reason: 'missing-field', field: 'score' });
    for (const points of ['10', true, [1], { v: 1 }]) {
      expect(failure(run({ ...GOOD, points }))).toEqual({ reason: 'not-a-number', field: 'points' });
    }
    expect(run({ ...GOOD, ignored: undefined }).ok).toBe(true);
  });

  it('not-a-scalar for the fields of first, last, countDistinct and a topK member; a numeric use of a field wins', () => {
    const aggregates: WindowSpec['aggregates'] = [
      { name: 'opening', fn: 'first', field: 'action' },
      { name: 'players', fn: 'countDistinct', field: 'points' },
      { name: 'leaders', fn: 'topK', field: 'guild', k: 3, by: { fn: 'avg', field: 'score' }, maxMembers: 10_000 },
    ];
    const decode = compileDecoder({ ...SPEC, windows: [W1, { ...W2, aggregates }] });
    const base = { ...GOOD, action: 'dig', guild: 'g1' };
    const at = (patch: Record<string, unknown>) => failure(decode(null, Buffer.from(JSON.stringify({ ...base, ...patch })), 0));
    for (const v of ['dig', 7, false]) expect(decode(Buffer.from('p1'), Buffer.from(JSON.stringify({ ...base, action: v, guild: v })), 0).ok).toBe(true);
    expect(at({ action: { name: 'dig' } })).toEqual({ reason: 'not-a-scalar', field: 'action' });
    expect(at({ guild: [1] })).toEqual({ reason: 'not-a-scalar', field: 'guild' });
    expect(at({ guild: null })).toEqual({ reason: 'missing-field', field: 'guild' });
    expect(at({ score: 'high' })).toEqual({ reason: 'not-a-number', field: 'score' });
    expect(failure(decode(null, buf(JSON.stringify(base).replace('}', ',"guild":1e999}')), 0))).toEqual({ reason: 'not-a-scalar', field: 'guild' });
    expect(failure(decode(null, buf(JSON.stringify(base).replace('}', `,"action":${JSON.stringify('\udc00')}}`)), 0))).toEqual({ reason: 'not-a-scalar', field: 'action' });
    // W1 sums points too, so countDistinct's field must be a number here.
    expect(at({ points: 'ten' })).toEqual({ reason: 'not-a-number', field: 'points' });
  });

  it('key-mismatch', () => {
    expect(failure(run(GOOD, 'p2'))).toEqual({ reason: 'key-mismatch', field: 'playerId' });
    expect(failure(run(GOOD, null))).toEqual({ reason: 'key-mismatch', field: 'playerId' });
    expect(failure(run({ ...GOOD, playerId: 5 }, '5.0'))).toEqual({ reason: 'key-mismatch', field: 'playerId' });
    const noKeyField = compileDecoder({ ...SPEC, keyField: 'userId' });
    expect(failure(noKeyField(buf('undefined'), buf(GOOD), 0))).toEqual({ reason: 'key-mismatch', field: 'userId' });
  });

  it('does not mistake Object.prototype members for fields', () => {
    const d = compileDecoder({ ...SPEC, windows: [{ ...W1, groupBy: ['constructor'] }] });
    expect(failure(d(buf('p1'), buf(GOOD), 0))).toEqual({ reason: 'missing-field', field: 'constructor' });
    expect(d(buf('p1'), buf({ ...GOOD, constructor: 'c' }), 0).ok).toBe(true);
    expect(() => compileDecoder({ ...SPEC, keyField: '__proto__' })).toThrow(/__proto__/);
  });
});

describe('decode check order', () => {
  const steps: Array<[string, string | undefined, (e: Record<string, unknown>) => void]> = [
    ['missing-field', 'eventId', (e) => delete e.eventId],
    ['invalid-event-time', 'ts', (e) => (e.ts = 'nope')],
    ['missing-field', 'playerId', (e) => delete e.playerId], // W1 groupBy[0]
    ['missing-field', 'region', (e) => delete e.region], // W1 groupBy[1]
    ['missing-field', 'team', (e) => delete e.team], // W2 groupBy[0]
    ['not-a-number', 'points', (e) => (e.points = 'ten')], // W1 aggregate
    ['missing-field', 'score', (e) => delete e.score], // W2 aggregate
  ];

  it('reports the first failure when every later check would also fail', () => {
    // Apply faults from the last check backwards; after each, that fault must win.
    const event: Record<string, unknown> = { ...GOOD };
    expect(failure(run(event, 'other'))).toEqual({ reason: 'key-mismatch', field: 'playerId' });
    for (let i = steps.length - 1; i >= 0; i--) {
      const [reason, field, breakIt] = steps[i]!;
      breakIt(event);
      expect(failure(run(event, 'other'))).toEqual({ reason, field });
    }
    expect(failure(decode(buf('other'), buf('{bad'), 0))).toEqual({ reason: 'invalid-json', field: undefined });
    expect(failure(decode(buf('other'), Buffer.alloc(SPEC.maxRecordBytes + 1, 0x7b), 0))).toEqual({ reason: 'oversized', field: undefined });
  });

  it('id is checked before event time', () => {
    expect(failure(run({ ...GOOD, eventId: false, ts: null }))).toEqual({ reason: 'invalid-id', field: 'eventId' });
  });
});
