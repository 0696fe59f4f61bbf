import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addEvent, initAccumulator } from '../../../src/processors/aggregates.ts';
import { formatOutput, windowKey } from '../../../src/processors/output-record.ts';
import type { WindowSpec } from '../../../src/processors/types.ts';

const SPEC: WindowSpec = {
  name: 'per_player_1m',
  groupBy: ['playerId'],
  kind: 'tumbling',
  sizeMs: 60_000,
  advanceMs: 60_000,
  graceMs: 0,
  emit: 'final',
  aggregates: [
    { name: 'actions', fn: 'count', field: undefined },
    { name: 'points', fn: 'sum', field: 'points' },
    { name: 'best', fn: 'max', field: 'score' },
    { name: 'worst', fn: 'min', field: 'score' },
    { name: 'avgScore', fn: 'avg', field: 'score' },
  ],
};

describe('windowKey', () => {
  it('is the JSON array [window, ...group values, start]', () => {
    expect(windowKey('w', ['p1', 7, true], 1_700_000_040_000)).toBe('["w","p1",7,true,1700000040000]');
    expect(windowKey('w', [], -60_000)).toBe('["w",-60000]');
  });

  it('keeps apart the group values that shared a key when they were joined with "|"', () => {
    const collided: [unknown[], unknown[]][] = [
      [['a|b', 'c'], ['a', 'b|c']],
      [[1], ['1']],
      [[true], ['true']],
      [[null], ['null']],
      [[1.5], ['1.5']],
      [['x', ''], ['x|']],
    ];
    for (const [a, b] of collided) expect(windowKey('w', a, 0), JSON.stringify([a, b])).not.toBe(windowKey('w', b, 0));
  });

  it('equals JSON.stringify of the tuple for any JSON primitive, so it is injective', () => {
    const primitive = fc.oneof(fc.string({ unit: 'binary' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(fc.array(primitive, { maxLength: 4 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), (group, start) => {
        const key = windowKey('per_player_1m', group, start);
        expect(key).toBe(JSON.stringify(['per_player_1m', ...group, start]));
        expect(JSON.parse(key)).toEqual(['per_player_1m', ...group.map((v) => (Object.is(v, -0) ? 0 : v)), start]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatOutput', () => {
  it('matches the documented contract byte for byte', () => {
    const acc = initAccumulator(SPEC.aggregates);
    for (const [points, score] of [[10, 9], [15, 5], [5, 1]] as const) addEvent(acc, SPEC.aggregates, { points, score }, 0);
    const out = formatOutput(SPEC, ['p1'], 1_700_000_040_000, acc, true);
    expect(out.key).toBe('["per_player_1m","p1",1700000040000]');
    expect(out.value).toBe(
      '{"window":"per_player_1m","group":{"playerId":"p1"},"start":1700000040000,"end":1700000100000,"final":true,"values":{"actions":3,"points":30,"best":9,"worst":1,"avgScore":5}}',
    );
  });

  it('appends closedBy to a final that an idle close wrote, and to no other', () => {
    const out = formatOutput(SPEC, ['p1'], 0, [1, 2, 3, 3, [3, 1]], true, undefined, undefined, { closedBy: 'idle' });
    expect(out.value).toBe('{"window":"per_player_1m","group":{"playerId":"p1"},"start":0,"end":60000,"final":true,"values":{"actions":1,"points":2,"best":3,"worst":3,"avgScore":3},"closedBy":"idle"}');
    expect(Object.keys(JSON.parse(String(out.value)) as object)).toEqual(['window', 'group', 'start', 'end', 'final', 'values', 'closedBy']);
    expect(formatOutput(SPEC, ['p1'], 0, [1, 2, 3, 3, [3, 1]], true, undefined, undefined, {}).value).not.toContain('closedBy');
  });

  it('keeps group values as their JSON types, in groupBy order, and nulls for empty aggregates', () => {
    const spec: WindowSpec = { ...SPEC, name: 'w"q', groupBy: ['team', 'region'] };
    const out = formatOutput(spec, [7, 'e"u'], 0, initAccumulator(spec.aggregates), false);
    expect(out.key).toBe('["w\\"q",7,"e\\"u",0]');
    expect(out.value).toBe(
      '{"window":"w\\"q","group":{"team":7,"region":"e\\"u"},"start":0,"end":60000,"final":false,"values":{"actions":0,"points":0,"best":null,"worst":null,"avgScore":null}}',
    );
    expect(JSON.parse(out.value)).toEqual({
      window: 'w"q',
      group: { team: 7, region: 'e"u' },
      start: 0,
      end: 60_000,
      final: false,
      values: { actions: 0, points: 0, best: null, worst: null, avgScore: null },
    });
  });

  it('keeps aggregate order even for integer-like names', () => {
    const spec: WindowSpec = {
      ...SPEC,
      groupBy: [],
      aggregates: [
        { name: 'z', fn: 'count', field: undefined },
        { name: '2', fn: 'count', field: undefined },
        { name: '1', fn: 'count', field: undefined },
      ],
    };
    const out = formatOutput(spec, [], 60_000, [1, 2, 3], true);
    expect(out.value).toBe('{"window":"per_player_1m","group":{},"start":60000,"end":120000,"final":true,"values":{"z":1,"2":2,"1":3}}');
  });

  it('emits unrounded averages', () => {
    const spec: WindowSpec = { ...SPEC, aggregates: [{ name: 'avg', fn: 'avg', field: 'v' }] };
    const out = formatOutput(spec, ['p'], 0, [[4, 3]], true);
    expect(JSON.parse(out.value).values.avg).toBe(4 / 3);
  });
});
