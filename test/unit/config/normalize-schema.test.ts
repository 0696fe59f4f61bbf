import { describe, expect, it } from 'vitest';
import { NORMALIZE_EXAMPLE } from '../../../src/config/normalize-schema.ts';
import { configSchema, requiredErrorMap } from '../../../src/config/schema.ts';
import { MINIMAL_CONFIG } from '../../helpers/minimal-config.ts';

const minimal = MINIMAL_CONFIG;

const parse = (normalize: unknown) => configSchema.safeParse({ ...minimal, normalize }, { error: requiredErrorMap });

function issuesOf(normalize: unknown): { path: PropertyKey[]; message: string }[] {
  const result = parse(normalize);
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((issue) => ({ path: issue.path, message: issue.message }));
}

describe('normalize', () => {
  it('defaults to no steps', () => {
    expect(configSchema.parse(minimal).normalize).toEqual([]);
  });

  it('turns the documented example into tagged steps, in the order written', () => {
    expect(parse(NORMALIZE_EXAMPLE).data?.normalize).toEqual([
      { op: 'rename', from: 'player_id', to: 'playerId' },
      { op: 'default', field: 'region', value: 'unknown' },
      { op: 'coerce', field: 'points', to: 'number' },
      { op: 'coerce', field: 'ts', to: 'epoch-ms' },
      { op: 'drop', fields: ['debug', 'trace'] },
      { op: 'match', field: 'playerId', pattern: '^p[0-9]+$' },
    ]);
  });

  it('wants exactly one operation per step', () => {
    expect(issuesOf([{}])).toEqual([{ path: ['normalize', 0], message: 'a step needs one of rename, default, coerce, drop, match' }]);
    expect(issuesOf([{ drop: ['a'], rename: { from: 'a', to: 'b' } }])).toEqual([{ path: ['normalize', 0], message: 'one operation per step, got rename and drop: make them separate steps' }]);
    expect(issuesOf([{ uppercase: 'a' }])[0]?.path).toEqual(['normalize', 0]);
  });

  it('rejects unknown coercions, empty drops and "__proto__"', () => {
    expect(issuesOf([{ coerce: { field: 'a', to: 'date' } }])[0]?.path).toEqual(['normalize', 0, 'coerce', 'to']);
    expect(issuesOf([{ drop: [] }])).toEqual([{ path: ['normalize', 0, 'drop'], message: 'drop needs at least one field' }]);
    expect(issuesOf([{ default: { field: '__proto__', value: 1 } }])).toEqual([{ path: ['normalize', 0, 'default', 'field'], message: 'field name "__proto__" is not supported' }]);
    expect(issuesOf([{ default: { field: 'a', value: { nested: true } } }])[0]?.path).toEqual(['normalize', 0, 'default', 'value']);
  });

  it('rejects a pattern that does not compile, and the classic catastrophic shapes', () => {
    expect(issuesOf([{ match: { field: 'a', pattern: '(' } }])[0]?.message).toMatch(/^not a valid regular expression: /);
    for (const pattern of ['(a+)+$', '^(\\w*)*$', '(x{1,5})+', '([a-z]+)*']) {
      expect(issuesOf([{ match: { field: 'a', pattern } }])[0]?.message, pattern).toMatch(/exponential time/);
    }
    for (const pattern of ['^p[0-9]+$', '(ab)+', '^(?:[a-z]+-)?\\d+$', '\\(a+\\)+']) expect(parse([{ match: { field: 'a', pattern } }]).success, pattern).toBe(true);
  });
});
