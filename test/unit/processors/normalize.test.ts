import { describe, expect, it } from 'vitest';
import { compileDecoder } from '../../../src/processors/decode.ts';
import { compileNormalizer } from '../../../src/processors/normalize.ts';
import type { NormalizeFailure } from '../../../src/processors/normalize.ts';
import type { NormalizeStep, PipelineSpec } from '../../../src/processors/types.ts';

function run(steps: NormalizeStep[], event: Record<string, unknown>): { event: Record<string, unknown>; failed: NormalizeFailure | undefined } {
  const normalize = compileNormalizer(steps);
  if (normalize === undefined) throw new Error('expected a normalizer');
  return { event, failed: normalize(event) };
}

const coerce = (to: 'number' | 'epoch-ms' | 'string', value: unknown) => run([{ op: 'coerce', field: 'v', to }], { v: value });

describe('compileNormalizer', () => {
  it('is undefined without steps, so the decoder skips the stage', () => {
    expect(compileNormalizer([])).toBeUndefined();
  });

  it('runs the steps in the order written, each on what the previous ones made, mutating the event in place', () => {
    const event = { player_id: 'p1', points: '12', debug: true };
    const { event: out, failed } = run(
      [
        { op: 'rename', from: 'player_id', to: 'playerId' },
        { op: 'match', field: 'playerId', pattern: '^p\\d+$' },
        { op: 'coerce', field: 'points', to: 'number' },
        { op: 'default', field: 'region', value: 'eu' },
        { op: 'drop', fields: ['debug'] },
      ],
      event,
    );
    expect(failed).toBeUndefined();
    expect(out).toBe(event);
    expect(out).toEqual({ playerId: 'p1', points: 12, region: 'eu' });
  });

  it('order matters: a match before the rename sees no field', () => {
    const { failed } = run([{ op: 'match', field: 'playerId', pattern: '.' }, { op: 'rename', from: 'player_id', to: 'playerId' }], { player_id: 'p1' });
    expect(failed).toEqual({ field: 'playerId', detail: 'match: field "playerId" must match /./, got nothing' });
  });

  it('stops at the first failing step', () => {
    const event = { a: 'x', b: '1' };
    const { failed } = run([{ op: 'coerce', field: 'a', to: 'number' }, { op: 'coerce', field: 'b', to: 'number' }], event);
    expect(failed?.field).toBe('a');
    expect(event.b).toBe('1');
  });

  it('rename: moves an own field, overwrites the target, ignores an absent or inherited source', () => {
    expect(run([{ op: 'rename', from: 'a', to: 'b' }], { a: 1, b: 2 }).event).toEqual({ b: 1 });
    expect(run([{ op: 'rename', from: 'a', to: 'b' }], { c: 3 }).event).toEqual({ c: 3 });
    expect(run([{ op: 'rename', from: 'constructor', to: 'b' }], { c: 3 }).event).toEqual({ c: 3 });
    expect(run([{ op: 'rename', from: 'a', to: 'b' }], { a: null }).event).toEqual({ b: null });
  });

  it('default: fills a missing or null field, keeps any other value, even false, 0 and ""', () => {
    const fill = (event: Record<string, unknown>) => run([{ op: 'default', field: 'r', value: 'eu' }], event).event.r;
    expect(fill({})).toBe('eu');
    expect(fill({ r: null })).toBe('eu');
    expect(fill({ r: false })).toBe(false);
    expect(fill({ r: 0 })).toBe(0);
    expect(fill({ r: '' })).toBe('');
    expect(run([{ op: 'default', field: 'toString', value: 1 }], {}).event).toEqual({ toString: 1 });
  });

  it('drop: deletes the fields, absent ones included', () => {
    expect(run([{ op: 'drop', fields: ['a', 'zz'] }], { a: 1, b: 2 }).event).toEqual({ b: 2 });
  });

  it('coerce number: JSON number syntax only', () => {
    for (const [input, output] of [['12', 12], ['-3.5', -3.5], ['0', 0], ['1e3', 1000], ['2.5E-1', 0.25], [7, 7], [-0.5, -0.5]] as const) {
      expect(coerce('number', input), String(input)).toEqual({ event: { v: output }, failed: undefined });
    }
    for (const input of ['', ' 1', '1 ', '0x10', '0b1', '0o7', '012', '+1', '1.', '.5', '1e999', 'Infinity', 'NaN', '1_000', '12abc', true, {}, [], Number.POSITIVE_INFINITY]) {
      expect(coerce('number', input).failed?.field, JSON.stringify(input)).toBe('v');
    }
  });

  it('coerce epoch-ms: finite numbers stay, ISO-8601 strings with a zone become epoch ms, as event time reads them', () => {
    expect(coerce('epoch-ms', '2023-11-14T22:13:20Z').event.v).toBe(1_700_000_000_000);
    expect(coerce('epoch-ms', '2023-11-14T23:13:20.5+01:00').event.v).toBe(1_700_000_000_500);
    expect(coerce('epoch-ms', '2023-11-14').event.v).toBe(Date.UTC(2023, 10, 14));
    expect(coerce('epoch-ms', 1_700_000_000_000).event.v).toBe(1_700_000_000_000);
    for (const input of ['2023-11-14T22:13:20', '1700000000000', 'yesterday', '', true]) {
      expect(coerce('epoch-ms', input).failed?.detail, JSON.stringify(input)).toMatch(/^coerce: field "v" must be epoch ms or an ISO-8601 string with a zone to become epoch-ms, got /);
    }
  });

  it('coerce string: numbers and booleans become their JSON text; objects fail', () => {
    expect(coerce('string', 12).event.v).toBe('12');
    expect(coerce('string', false).event.v).toBe('false');
    expect(coerce('string', 'x').event.v).toBe('x');
    expect(coerce('string', { a: 1 }).failed?.detail).toBe('coerce: field "v" must be a string, a finite number or a boolean to become string, got object');
  });

  it('coerce leaves a missing or null field to validation', () => {
    expect(run([{ op: 'coerce', field: 'v', to: 'number' }], {})).toEqual({ event: {}, failed: undefined });
    expect(run([{ op: 'coerce', field: 'v', to: 'number' }], { v: null })).toEqual({ event: { v: null }, failed: undefined });
  });

  it('match: tests strings, and numbers and booleans as their text; anything else fails', () => {
    const match = (v: unknown) => run([{ op: 'match', field: 'v', pattern: '^(?:p\\d+|\\d+|true)$' }], { v }).failed;
    expect(match('p12')).toBeUndefined();
    expect(match(42)).toBeUndefined();
    expect(match(true)).toBeUndefined();
    expect(match('P12')).toEqual({ field: 'v', detail: 'match: field "v" must match /^(?:p\\d+|\\d+|true)$/, got string "P12"' });
    expect(match(null)?.field).toBe('v');
    expect(match(['p1'])?.detail).toMatch(/got array$/);
  });

  it('match: the regex is compiled once and keeps no state between events', () => {
    const normalize = compileNormalizer([{ op: 'match', field: 'v', pattern: 'a' }])!;
    for (let i = 0; i < 3; i++) expect(normalize({ v: 'a' })).toBeUndefined();
  });

  it('refuses "__proto__", which would replace the prototype instead of setting a field', () => {
    expect(() => compileNormalizer([{ op: 'default', field: '__proto__', value: 1 }])).toThrow(/__proto__/);
    expect(() => compileNormalizer([{ op: 'rename', from: 'a', to: '__proto__' }])).toThrow(/__proto__/);
  });
});

describe('the decoder with normalize steps', () => {
  const spec: PipelineSpec = {
    keyField: 'playerId',
    idField: 'eventId',
    dedupeTtlMs: 60_000,
    eventTimeField: 'ts',
    maxRecordBytes: 1024,
    normalize: [
      { op: 'rename', from: 'player', to: 'playerId' },
      { op: 'coerce', field: 'points', to: 'number' },
      { op: 'match', field: 'action', pattern: '^[a-z]+$' },
    ],
    windows: [{ name: 'w', groupBy: ['playerId'], kind: 'tumbling', sizeMs: 60_000, advanceMs: 60_000, graceMs: 0, emit: 'final', aggregates: [{ name: 'points', fn: 'sum', field: 'points' }] }],
  };
  const decode = compileDecoder(spec);
  const run = (event: unknown) => decode(Buffer.from('p1'), Buffer.from(JSON.stringify(event)), 0);

  it('normalizes before validating, so a coercion can fix what validation would reject', () => {
    const r = run({ eventId: 'e1', ts: 1000, player: 'p1', points: '12', action: 'dig' });
    expect(r).toEqual({ ok: true, event: { eventId: 'e1', ts: 1000, playerId: 'p1', points: 12, action: 'dig' }, eventTime: 1000, id: 'e1' });
  });

  it('a failed step is reason invalid with its field, before any validation', () => {
    const r = run({ player: 'p1', points: '12', action: 'DIG' });
    expect(r).toMatchObject({ ok: false, reason: 'invalid', field: 'action' });
    expect(run({ eventId: 'e1', ts: 1000, player: 'p1', points: 'twelve', action: 'dig' })).toMatchObject({ ok: false, reason: 'invalid', field: 'points' });
  });

  it('without steps, a numeric string is still not-a-number', () => {
    const plain = compileDecoder({ ...spec, normalize: [] });
    const r = plain(Buffer.from('p1'), Buffer.from(JSON.stringify({ eventId: 'e1', ts: 1000, playerId: 'p1', points: '12' })), 0);
    expect(r).toMatchObject({ ok: false, reason: 'not-a-number', field: 'points' });
  });
});
