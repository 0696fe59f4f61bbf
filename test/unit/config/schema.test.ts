import { describe, expect, it } from 'vitest';
import {
  configSchema,
  DURATION_MESSAGE,
  formatDuration,
  parseDuration,
  quantileLabel,
  TOP_K_DEFAULT_MEMBERS,
  requiredErrorMap,
} from '../../../src/config/schema.ts';
import { MINIMAL_CONFIG } from '../../helpers/minimal-config.ts';

const minimal = MINIMAL_CONFIG;

const withWindow = (window: Record<string, unknown>) => ({
  ...minimal,
  windows: [{ ...minimal.windows[0], ...window }],
});

function issuesOf(raw: unknown) {
  const result = configSchema.safeParse(raw, { error: requiredErrorMap });
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((issue) => ({ path: issue.path, message: issue.message }));
}

describe('durations', () => {
  it.each([
    ['100ms', 100],
    ['0s', 0],
    ['10s', 10_000],
    ['1m', 60_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
  ])('parses %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(configSchema.parse({ ...minimal, kafka: { ...minimal.kafka, connectTimeout: text } }).kafka.connectTimeout).toBe(ms);
  });

  it.each(['10', '1.5s', '10 s', '-1s', '1w', '', 's', '10S', '99999999999999999999d'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
    expect(issuesOf(withWindow({ grace: text }))).toEqual([{ path: ['windows', 0, 'grace'], message: DURATION_MESSAGE }]);
  });

  it('rejects numbers, which would be ambiguous about their unit', () => {
    expect(issuesOf(withWindow({ grace: 10 }))).toEqual([{ path: ['windows', 0, 'grace'], message: DURATION_MESSAGE }]);
  });

  it('formats with the largest unit that divides evenly', () => {
    expect([0, 100, 1500, 10_000, 90_000, 300_000, 7_200_000, 86_400_000].map(formatDuration)).toEqual([
      '0s', '100ms', '1500ms', '10s', '90s', '5m', '2h', '1d',
    ]);
  });
});

describe('defaults', () => {
  it('fills every optional field', () => {
    const config = configSchema.parse(minimal);
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:9092'], client: 'kafkajs', clientId: 'sluice', connectTimeout: 30_000, sessionTimeout: 30_000 });
    expect(config.application).toEqual({ id: 'player-stats', guarantee: 'exactly-once', stateDir: './.sluice-state' });
    expect(config.input).toEqual({ topic: 'player-actions', format: 'json', key: 'playerId', maxRecordBytes: 1_048_576 });
    expect(config.dedupe).toBeUndefined();
    expect(config.batching).toEqual({ maxRecords: 2000, maxBytes: 524_288, targetLatencyMs: 50, maxIntervalMs: 100 });
    expect(config.backpressure).toEqual({ maxInFlightBytes: 64 * 1024 * 1024 });
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1', maxBodyBytes: 1_048_576, readyMaxLag: 10_000, ingestTimeout: 10_000, queryRetention: 300_000 });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.windows[0]).toMatchObject({ graceMs: 0, emit: 'final' });
  });

  it('does not share default objects between parses', () => {
    expect(configSchema.parse(minimal).log).not.toBe(configSchema.parse(minimal).log);
  });
});

describe('windows', () => {
  it('normalizes a tumbling window', () => {
    const [window] = configSchema.parse(withWindow({ grace: '10s', emit: 'update' })).windows;
    expect(window).toEqual({
      name: 'per_player_1m',
      groupBy: ['playerId'],
      kind: 'tumbling',
      sizeMs: 60_000,
      advanceMs: 60_000,
      graceMs: 10_000,
      emit: 'update',
      aggregates: [{ name: 'actions', fn: 'count', field: undefined }],
    });
  });

  it('normalizes a hopping window', () => {
    const [window] = configSchema.parse(withWindow({ tumbling: undefined, hopping: { size: '5m', advance: '1m' } })).windows;
    expect(window).toMatchObject({ kind: 'hopping', sizeMs: 300_000, advanceMs: 60_000 });
    expect(window).not.toHaveProperty('hopping');
    expect(window).not.toHaveProperty('tumbling');
  });

  it('requires advance <= size and size a multiple of advance', () => {
    expect(issuesOf(withWindow({ tumbling: undefined, hopping: { size: '1m', advance: '5m' } }))).toEqual([
      { path: ['windows', 0, 'hopping', 'advance'], message: 'must not be longer than size (1m)' },
    ]);
    expect(issuesOf(withWindow({ tumbling: undefined, hopping: { size: '5m', advance: '2m' } }))).toEqual([
      { path: ['windows', 0, 'hopping', 'size'], message: 'must be a multiple of advance (2m)' },
    ]);
    expect(issuesOf(withWindow({ tumbling: undefined, hopping: { size: '1m', advance: '0s' } }))).toEqual([
      { path: ['windows', 0, 'hopping', 'advance'], message: 'must be longer than 0' },
    ]);
  });

  it('requires exactly one of tumbling, hopping and session', () => {
    expect(issuesOf(withWindow({ tumbling: undefined }))).toEqual([
      { path: ['windows', 0], message: 'one of tumbling, hopping or session is required' },
    ]);
    expect(issuesOf(withWindow({ hopping: { size: '1m', advance: '1m' } }))).toEqual([
      { path: ['windows', 0], message: 'give one of tumbling, hopping or session, not tumbling and hopping' },
    ]);
  });

  it('requires unique window names, even when other fields are invalid', () => {
    const raw = { ...minimal, windows: [minimal.windows[0], { ...minimal.windows[0], grace: 'soon' }] };
    expect(issuesOf(raw)).toEqual([
      { path: ['windows', 1, 'grace'], message: DURATION_MESSAGE },
      { path: ['windows', 1, 'name'], message: 'duplicate window name "per_player_1m" (first used by windows[0])' },
    ]);
  });

  it('rejects bad names and duplicate group fields', () => {
    expect(issuesOf(withWindow({ name: 'per-player' }))[0]?.path).toEqual(['windows', 0, 'name']);
    expect(issuesOf(withWindow({ groupBy: ['playerId', 'playerId'] }))).toEqual([
      { path: ['windows', 0, 'groupBy', 1], message: 'duplicate field "playerId"' },
    ]);
    expect(issuesOf({ ...minimal, windows: [] })).toEqual([{ path: ['windows'], message: 'at least one window is required' }]);
  });
});

describe('aggregates', () => {
  it('parses expressions into structured form, in the order written', () => {
    const aggregates = { actions: 'count()', points: 'sum(points)', best: 'max( score )', worst: 'min(score)', avgScore: 'avg(score)' };
    expect(configSchema.parse(withWindow({ aggregates })).windows[0]?.aggregates).toEqual([
      { name: 'actions', fn: 'count', field: undefined },
      { name: 'points', fn: 'sum', field: 'points' },
      { name: 'best', fn: 'max', field: 'score' },
      { name: 'worst', fn: 'min', field: 'score' },
      { name: 'avgScore', fn: 'avg', field: 'score' },
    ]);
  });

  it('parses first, last, countDistinct, quantiles and topK', () => {
    const aggregates = {
      opening: 'first(action)',
      closing: 'last( action )',
      players: 'countDistinct(playerId)',
      latency: 'quantiles(ms, [0.5, .9, 0.999, 1])',
      leaders: 'topK(playerId, 10, by: sum(points))',
      busiest: 'topK(playerId, 3, by: count())',
      capped: 'topK(playerId, 3, by: max(points), maxMembers: 500)',
    };
    expect(configSchema.parse(withWindow({ aggregates })).windows[0]?.aggregates).toEqual([
      { name: 'opening', fn: 'first', field: 'action' },
      { name: 'closing', fn: 'last', field: 'action' },
      { name: 'players', fn: 'countDistinct', field: 'playerId' },
      { name: 'latency', fn: 'quantiles', field: 'ms', quantiles: [0.5, 0.9, 0.999, 1] },
      { name: 'leaders', fn: 'topK', field: 'playerId', k: 10, by: { fn: 'sum', field: 'points' }, maxMembers: TOP_K_DEFAULT_MEMBERS },
      { name: 'busiest', fn: 'topK', field: 'playerId', k: 3, by: { fn: 'count', field: undefined }, maxMembers: TOP_K_DEFAULT_MEMBERS },
      { name: 'capped', fn: 'topK', field: 'playerId', k: 3, by: { fn: 'max', field: 'points' }, maxMembers: 500 },
    ]);
  });

  it.each([
    ['topK(p, 10, by: count(), maxMembers: 9)', 'between k (10) and 100000, got 9'],
    ['topK(p, 10, by: count(), maxMembers: 100001)', 'between k (10) and 100000, got 100001'],
  ])('bounds a topK\'s maxMembers: %j', (expr, why) => {
    expect(issuesOf(withWindow({ aggregates: { top: expr } }))).toEqual([{ path: ['windows', 0, 'aggregates', 'top'], message: `topK's maxMembers must be ${why}` }]);
  });

  it('names quantiles by their percentage', () => {
    expect([0, 0.05, 0.5, 0.99, 0.999, 1].map(quantileLabel)).toEqual(['p0', 'p5', 'p50', 'p99', 'p99.9', 'p100']);
  });

  const FORMS = 'expected count(), sum|min|max|avg|first|last|countDistinct(<field>), quantiles(<field>, [<q>, ...]) or topK(<field>, <k>, by: <count() or sum|min|max|avg(<field>)>[, maxMembers: <n>])';
  it.each(['count(x)', 'sum()', 'median(x)', 'sum(a,b)', 'sum', 'SUM(x)', 'topK(p, 3)', 'topK(p, 3, by: first(x))', 'topK(p, 3, by: count(), members: 9)', 'quantiles(x)', 'countDistinct()'])('rejects %j', (expr) => {
    expect(issuesOf(withWindow({ aggregates: { bad: expr } }))).toEqual([{ path: ['windows', 0, 'aggregates', 'bad'], message: `${FORMS}, got ${JSON.stringify(expr)}` }]);
  });

  it.each([
    ['quantiles(x, [0.5, 1.5])', 'quantiles takes a list of numbers between 0 and 1, e.g. [0.5, 0.99], got [0.5, 1.5]'],
    ['quantiles(x, [])', 'quantiles takes a list of numbers between 0 and 1, e.g. [0.5, 0.99], got []'],
    ['quantiles(x, [0.5, .50])', 'quantiles lists p50 twice'],
    ['topK(p, 0, by: count())', 'topK keeps 1 to 1000 members, got 0'],
    ['topK(p, 1001, by: sum(x))', 'topK keeps 1 to 1000 members, got 1001'],
  ])('rejects %j: %s', (expr, message) => {
    expect(issuesOf(withWindow({ aggregates: { bad: expr } }))).toEqual([{ path: ['windows', 0, 'aggregates', 'bad'], message }]);
  });

  it('accepts groupBy [] as one global group, merged across partitions (emit: final only)', () => {
    expect(configSchema.parse(withWindow({ groupBy: [] })).windows[0]?.groupBy).toEqual([]);
    expect(issuesOf(withWindow({ groupBy: [], emit: 'update' }))[0]?.path).toEqual(['windows', 0, 'emit']);
  });

  it('requires at least one aggregate', () => {
    expect(issuesOf(withWindow({ aggregates: {} }))).toEqual([
      { path: ['windows', 0, 'aggregates'], message: 'at least one aggregate is required' },
    ]);
  });
});

describe('other fields', () => {
  it('rejects unknown keys at every level', () => {
    const raw = { ...minimal, extra: 1, kafka: { ...minimal.kafka, brokerz: [] } };
    expect(issuesOf(raw).map((i) => i.path)).toEqual([['kafka'], []]);
  });

  it('validates brokers, ids and topic names', () => {
    expect(issuesOf({ ...minimal, kafka: { brokers: [] } })).toEqual([{ path: ['kafka', 'brokers'], message: 'at least one broker is required' }]);
    expect(issuesOf({ ...minimal, kafka: { brokers: ['localhost'] } })[0]?.path).toEqual(['kafka', 'brokers', 0]);
    expect(issuesOf({ ...minimal, kafka: { brokers: ['localhost:70000'] } })[0]?.message).toBe('port must be at most 65535');
    expect(configSchema.parse({ ...minimal, kafka: { brokers: ['[::1]:9092', 'kafka-0.kafka:9093'] } }).kafka.brokers).toHaveLength(2);
    expect(issuesOf({ ...minimal, application: { id: 'has space' } })[0]?.path).toEqual(['application', 'id']);
    expect(issuesOf({ ...minimal, output: { topic: 'a/b' } })[0]?.path).toEqual(['output', 'topic']);
  });

  it('says "required" for missing fields', () => {
    expect(issuesOf({ ...minimal, dedupe: {} })).toEqual([
      { path: ['dedupe', 'idField'], message: 'required' },
      { path: ['dedupe', 'ttl'], message: 'required' },
    ]);
  });

  it('converts dedupe ttl to milliseconds', () => {
    expect(configSchema.parse({ ...minimal, dedupe: { idField: 'eventId', ttl: '10m' } }).dedupe).toEqual({ idField: 'eventId', ttl: 600_000 });
  });
});
