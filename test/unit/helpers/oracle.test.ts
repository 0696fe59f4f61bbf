import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DEFAULT_TEST_PIPELINE,
  INVALID_KINDS,
  closingRecords,
  generateStream,
  partitionFor,
  pipelineYaml,
  withClosingRecords,
  type EventKind,
} from '../../helpers/event-stream.ts';
import { parseEventTime, runOracle, windowStarts, type OracleConfig, type OracleRecord } from '../../helpers/oracle.ts';

const MIN = 60_000;

const tumbling: OracleConfig = {
  keyField: 'k',
  eventTimeField: 't',
  maxRecordBytes: 1_000,
  windows: [
    {
      name: 'w',
      groupBy: ['k'],
      sizeMs: MIN,
      advanceMs: MIN,
      graceMs: 0,
      aggregates: [
        { name: 'n', fn: 'count' },
        { name: 's', fn: 'sum', field: 'v' },
        { name: 'lo', fn: 'min', field: 'v' },
        { name: 'hi', fn: 'max', field: 'v' },
        { name: 'mean', fn: 'avg', field: 'v' },
      ],
    },
  ],
};

type Raw = { raw: string | null; key?: string | null };
type Input = Record<string, unknown> | Raw;
const isRaw = (e: Input): e is Raw => 'raw' in e;

/** Partition 0 records with offsets in array order; the key is the event's k unless given raw. */
function records(events: Input[]): OracleRecord[] {
  return events.map((e, offset) => {
    if (isRaw(e)) return { partition: 0, offset, key: e.key === undefined ? 'a' : e.key, value: e.raw, timestampMs: 0 };
    return { partition: 0, offset, key: String(e.k), value: JSON.stringify(e), timestampMs: 0 };
  });
}

describe('oracle windows', () => {
  it('emits a tumbling window only once a later event closes it', () => {
    const three = [
      { k: 'a', t: 1_000, v: 1 },
      { k: 'a', t: 2_000, v: 5 },
      { k: 'a', t: 3_000, v: 3 },
    ];
    expect(runOracle(records(three), tumbling).finals.size).toBe(0);

    const result = runOracle(records([...three, { k: 'a', t: 10 * MIN, v: 100 }]), tumbling);
    expect([...result.finals]).toEqual([
      ['["w","a",0]', { window: 'w', group: { k: 'a' }, start: 0, end: MIN, final: true, values: { n: 3, s: 9, lo: 1, hi: 5, mean: 3 } }],
    ]);
    expect(result.accepted).toBe(4);
    expect(result.streamTime.get(0)).toBe(10 * MIN);
  });

  it('puts an event into every hopping window that contains it', () => {
    const hop = { sizeMs: 5 * MIN, advanceMs: MIN };
    expect(windowStarts(7.5 * MIN, hop)).toEqual([3, 4, 5, 6, 7].map((m) => m * MIN));
    expect(windowStarts(5 * MIN, hop)).toEqual([1, 2, 3, 4, 5].map((m) => m * MIN));
    expect(windowStarts(-1, hop)).toEqual([-5, -4, -3, -2, -1].map((m) => m * MIN));

    const cfg: OracleConfig = { ...tumbling, windows: [{ ...tumbling.windows[0]!, ...hop, aggregates: [{ name: 'n', fn: 'count' }] }] };
    const result = runOracle(records([{ k: 'a', t: 7.5 * MIN, v: 1 }, { k: 'a', t: 60 * MIN, v: 1 }]), cfg);
    expect([...result.finals.keys()].sort()).toEqual([3, 4, 5, 6, 7].map((m) => `["w","a",${m * MIN}]`).sort());
    for (const out of result.finals.values()) expect(out.values).toEqual({ n: 1 });
  });

  it('dead-letters an event as late only when every window that would hold it is closed', () => {
    const result = runOracle(
      records([
        { k: 'a', t: 5 * MIN, v: 1 },
        { k: 'a', t: 5 * MIN - 1, v: 1 }, // [4m, 5m) closed at exactly 5m with no grace
        { k: 'a', t: 100, v: 1 },
        { k: 'a', t: 5 * MIN, v: 2 },
      ]),
      tumbling,
    );
    expect([...result.deadLetters]).toEqual([
      ['0:1', 'late'],
      ['0:2', 'late'],
    ]);
    expect(result.accepted).toBe(2);

    // A second definition with grace still holds the event, so it is accepted there only.
    const graceful: OracleConfig = { ...tumbling, windows: [tumbling.windows[0]!, { ...tumbling.windows[0]!, name: 'g', graceMs: MIN }] };
    const both = runOracle(records([{ k: 'a', t: 5 * MIN, v: 1 }, { k: 'a', t: 5 * MIN - 1, v: 7 }, { k: 'a', t: 60 * MIN, v: 0 }]), graceful);
    expect(both.deadLetters.size).toBe(0);
    expect(both.finals.get('["g","a",240000]')?.values).toMatchObject({ n: 1, s: 7 });
    expect(both.finals.has('["w","a",240000]')).toBe(false);
  });

  it('drops a repeated id within ttl of its first sighting, earlier times included, and counts it after', () => {
    const cfg: OracleConfig = { ...tumbling, idField: 'id', ttlMs: 1_000 };
    const result = runOracle(
      records([
        { k: 'a', id: 'x', t: 0, v: 1 },
        { k: 'a', id: 'x', t: 1_000, v: 1 }, // t0 + ttl: still a duplicate
        { k: 'a', id: 'x', t: 500, v: 1 },
        { k: 'a', id: 'x', t: 1_001, v: 1 }, // counted; ttl now runs from here
        { k: 'a', id: 'x', t: 2_001, v: 1 },
        { k: 'a', id: 'x', t: 2_002, v: 1 },
        { k: 'a', id: 7, t: 2_003, v: 1 },
        { k: 'a', id: '7', t: 2_004, v: 1 }, // ids compare as strings
      ]),
      cfg,
    );
    expect(result.duplicates.get(0)).toBe(4);
    expect(result.accepted).toBe(4);
    expect([...result.outcomes.values()]).toEqual(['accepted', 'duplicate', 'duplicate', 'accepted', 'duplicate', 'accepted', 'accepted', 'duplicate']);
  });
});

describe('oracle validation', () => {
  const cfg: OracleConfig = { ...tumbling, idField: 'id', ttlMs: 1_000, maxRecordBytes: 60 };
  const ok = { k: 'a', id: 'i', t: 1, v: 1 };
  const cases: [string, Input, string | undefined][] = [
    ['oversized beats invalid JSON', { raw: 'x'.repeat(61) }, 'oversized'],
    ['counts UTF-8 bytes, not characters', { raw: JSON.stringify({ ...ok, pad: 'é'.repeat(15) }) }, 'oversized'],
    ['null value', { raw: null }, 'invalid-json'],
    ['empty value', { raw: '' }, 'invalid-json'],
    ['not JSON', { raw: '{"k":' }, 'invalid-json'],
    ['JSON array', { raw: '[1]' }, 'invalid-json'],
    ['JSON null', { raw: 'null' }, 'invalid-json'],
    ['JSON number', { raw: '3' }, 'invalid-json'],
    ['missing id beats a bad time', { k: 'a', t: 'soon', v: 1 }, 'missing-field'],
    ['null id', { ...ok, id: null }, 'missing-field'],
    ['boolean id', { ...ok, id: true }, 'invalid-id'],
    ['infinite id', { raw: '{"k":"a","id":1e400,"t":1,"v":1}' }, 'invalid-id'],
    ['numeric id', { ...ok, id: 0 }, undefined],
    ['missing time', { k: 'a', id: 'i', v: 1 }, 'missing-field'],
    ['zone-less time', { ...ok, t: '2024-01-01T00:00:00' }, 'invalid-event-time'],
    ['impossible date', { ...ok, t: '2024-02-30' }, 'invalid-event-time'],
    ['numeric-string time', { ...ok, t: '1000' }, 'invalid-event-time'],
    ['zoned ISO time', { ...ok, t: '2024-01-01T01:00:00+01:00' }, undefined],
    ['missing group field', { raw: '{"id":"i","t":1,"v":"x"}' }, 'missing-field'],
    ['missing aggregate field', { k: 'a', id: 'i', t: 1 }, 'missing-field'],
    ['numeric string aggregate', { ...ok, v: '12' }, 'not-a-number'],
    ['key differs', { raw: JSON.stringify(ok), key: 'b' }, 'key-mismatch'],
    ['null key', { raw: JSON.stringify(ok), key: null }, 'key-mismatch'],
    ['numeric key field', { raw: JSON.stringify({ ...ok, k: 7 }), key: '7' }, undefined],
  ];
  it.each(cases)('%s', (_name, input, reason) => {
    const result = runOracle(records([input]), cfg);
    expect(result.deadLetters.get('0:0')).toBe(reason);
    expect(result.accepted).toBe(reason === undefined ? 1 : 0);
  });

  it('parses event times to epoch ms', () => {
    expect(parseEventTime(1_700_000_000_123)).toBe(1_700_000_000_123);
    expect(parseEventTime('2024-01-01T00:00:00Z')).toBe(Date.UTC(2024, 0, 1));
    expect(parseEventTime('2024-01-01T05:30:00.250+05:30')).toBe(Date.UTC(2024, 0, 1, 0, 0, 0, 250));
    expect(parseEventTime('2023-12-31T19:00-05:00')).toBe(Date.UTC(2024, 0, 1));
    expect(parseEventTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of ['2023-02-29', '2024-01-01T24:00:00Z', '2024-01-01 00:00:00Z', Infinity, NaN, true, {}]) expect(parseEventTime(bad)).toBeUndefined();
  });
});

describe('event stream generator', () => {
  // 400 ms a record: enough history per partition for retries past the dedupe retention.
  const opts = { seed: 42, partitions: 3, events: 5_000, stepMs: 400 };

  it('is deterministic per seed', () => {
    expect(generateStream(opts)).toEqual(generateStream(opts));
    expect(generateStream({ ...opts, seed: 43 })).not.toEqual(generateStream(opts));
  });

  it('assigns contiguous per-partition offsets and hashes valid keys to their partition', () => {
    const stream = withClosingRecords(generateStream(opts), opts.partitions);
    const next = [0, 0, 0];
    for (const r of stream) {
      expect(r.offset).toBe(next[r.partition]!++);
      if (r.kind !== 'key-mismatch') expect(partitionFor(r.key!, opts.partitions)).toBe(r.partition);
    }
  });

  it('closes with one fresh, valid event per partition after the stream', () => {
    const stream = generateStream({ ...opts, events: 50 });
    const flush = closingRecords(opts.partitions, 1_000, stream);
    expect(flush.map((r) => [r.partition, r.offset, r.timestampMs])).toEqual(
      [0, 1, 2].map((p) => [p, stream.filter((r) => r.partition === p).length, 1_000 + 3_600_000]),
    );
    for (const r of flush) expect(partitionFor(r.key!, opts.partitions)).toBe(r.partition);
    expect(runOracle(flush, DEFAULT_TEST_PIPELINE).accepted).toBe(opts.partitions);
  });

  it('contains every kind, and the oracle agrees with what each kind is meant to do', () => {
    const stream = withClosingRecords(generateStream(opts), opts.partitions);
    const kinds = new Set(stream.map((r) => r.kind));
    const all: EventKind[] = ['normal', 'iso-time', 'duplicate-exact', 'duplicate-shifted', 'out-of-order', 'late', 'repeat-after-ttl', 'late-retry', 'late-retry-expired', 'odd-group', 'flush', ...INVALID_KINDS];
    expect([...kinds].sort()).toEqual([...all].sort());

    const result = runOracle(stream, DEFAULT_TEST_PIPELINE);
    const expected: Record<EventKind, string> = {
      normal: 'accepted',
      'iso-time': 'accepted',
      'out-of-order': 'accepted',
      'repeat-after-ttl': 'accepted',
      'odd-group': 'accepted',
      flush: 'accepted',
      'duplicate-exact': 'duplicate',
      'duplicate-shifted': 'duplicate',
      late: 'late',
      'late-retry': 'duplicate',
      'late-retry-expired': 'late',
      'not-json': 'invalid-json',
      'json-array': 'invalid-json',
      'null-value': 'invalid-json',
      'missing-id': 'missing-field',
      'missing-ts': 'missing-field',
      'zoneless-ts': 'invalid-event-time',
      'string-points': 'not-a-number',
      'key-mismatch': 'key-mismatch',
      'object-group': 'invalid-group',
    };
    for (const r of stream) expect(result.outcomes.get(`${r.partition}:${r.offset}`), `${r.kind} at ${r.partition}:${r.offset}`).toBe(expected[r.kind]);

    // The flush records close everything before them and nothing after.
    const windows = new Set([...result.finals.values()].map((f) => f.window));
    expect(windows).toEqual(new Set(['per_player_1m', 'per_player_5m_by_1m']));
    const counted = [...result.finals.values()].filter((f) => f.window === 'per_player_1m').reduce((n, f) => n + (f.values.actions as number), 0);
    expect(counted).toBe(result.accepted - opts.partitions);
  });
});

describe('pipelineYaml', () => {
  it('describes DEFAULT_TEST_PIPELINE', () => {
    const text = pipelineYaml({ brokers: '127.0.0.1:9092', appId: 'app', input: 'in', output: 'out', dlq: 'in.dlq', stateDir: '/tmp/s s' });
    expect(parse(text)).toEqual({
      kafka: { brokers: ['127.0.0.1:9092'], client: 'kafkajs', clientId: 'sluice-test', sessionTimeout: '6s' },
      application: { id: 'app', guarantee: 'exactly-once', stateDir: '/tmp/s s' },
      input: { topic: 'in', format: 'json', key: 'playerId', eventTime: { field: 'ts' }, maxRecordBytes: 1_048_576 },
      dedupe: { idField: 'eventId', ttl: '2m' },
      windows: [
        {
          name: 'per_player_1m',
          groupBy: ['playerId'],
          tumbling: '1m',
          grace: '10s',
          emit: 'final',
          aggregates: { actions: 'count()', points: 'sum(points)', best: 'max(score)', worst: 'min(score)', avgScore: 'avg(score)' },
        },
        {
          name: 'per_player_5m_by_1m',
          groupBy: ['playerId', 'action'],
          hopping: { size: '5m', advance: '1m' },
          grace: '30s',
          emit: 'final',
          aggregates: { actions: 'count()' },
        },
      ],
      output: { topic: 'out' },
      deadLetter: { topic: 'in.dlq' },
      http: { port: 0 },
    });
    const other = parse(pipelineYaml({ brokers: 'a:1,b:2', appId: 'x', input: 'i', output: 'o', dlq: 'd', stateDir: 's', guarantee: 'at-least-once', emit: 'update' }));
    expect(other.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(other.application.guarantee).toBe('at-least-once');
    expect(other.windows.map((w: { emit: string }) => w.emit)).toEqual(['update', 'update']);
  });
});
