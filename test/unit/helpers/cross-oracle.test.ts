import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CROSS_TEST_PIPELINE, DEFAULT_TEST_PIPELINE, REGIONS, generateStream, pipelineYaml, skewedOrder, withClosingRecords } from '../../helpers/event-stream.ts';
import { runCrossPartitionOracle, runOracle, type OracleConfig, type OracleRecord } from '../../helpers/oracle.ts';

const MIN = 60_000;

const cfg: OracleConfig = {
  keyField: 'k',
  eventTimeField: 't',
  maxRecordBytes: 1_000,
  windows: [
    {
      name: 'r',
      groupBy: ['region'],
      sizeMs: MIN,
      advanceMs: MIN,
      graceMs: 30_000,
      aggregates: [
        { name: 'n', fn: 'count' },
        { name: 's', fn: 'sum', field: 'v' },
        { name: 'lo', fn: 'min', field: 'v' },
        { name: 'hi', fn: 'max', field: 'v' },
        { name: 'mean', fn: 'avg', field: 'v' },
      ],
    },
    { name: 'local', groupBy: ['k'], sizeMs: MIN, advanceMs: MIN, graceMs: 30_000, aggregates: [{ name: 'n', fn: 'count' }] },
  ],
};

type Ev = { k: string; t: number; v: number; region: string };

/** Offsets per partition in array order. */
function records(events: [partition: number, event: Ev][]): OracleRecord[] {
  const next = new Map<number, number>();
  return events.map(([partition, e]) => {
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    return { partition, offset, key: e.k, value: JSON.stringify(e), timestampMs: 0 };
  });
}

const ev = (k: string, t: number, v: number, region = 'eu'): Ev => ({ k, t, v, region });
// The first minute closes at 1m + 30s grace.
const CLOSE_0 = MIN + 30_000;

describe('cross-partition oracle', () => {
  it('merges partials of one region from two partitions into one final', () => {
    const input = records([
      [0, ev('a', 1_000, 1)],
      [1, ev('b', 2_000, 9)],
      [0, ev('a', 3_000, 2)],
      [0, ev('a', 10 * MIN, 0, 'us')],
      [1, ev('b', 10 * MIN, 0, 'us')],
    ]);
    const result = runCrossPartitionOracle(input, cfg, 2);
    const regional = [...result.finals].filter(([k]) => k.startsWith('["r",'));
    // avg is the total sum over the total count (12 / 3), not the mean of the partitions' means.
    expect(regional).toEqual([['["r","eu",0]', { window: 'r', group: { region: 'eu' }, start: 0, end: MIN, final: true, values: { n: 3, s: 12, lo: 1, hi: 9, mean: 4 } }]]);
    expect(result.finals.get('["local","a",0]')?.values).toEqual({ n: 2 });
    expect(result.finals.get('["local","b",0]')?.values).toEqual({ n: 1 });
    // Per partition, the same region would close once per partition.
    expect(() => runOracle(input, cfg)).toThrow(/closed twice/);
  });

  it('keeps a merged window open while any partition is below end + grace, and closes it at exactly end + grace', () => {
    const base: [number, Ev][] = [
      [0, ev('a', 1_000, 1)],
      [1, ev('b', 2_000, 2)],
      [0, ev('a', 10 * MIN, 0, 'us')],
    ];
    const open = runCrossPartitionOracle(records([...base, [1, ev('b', CLOSE_0 - 1, 0, 'us')]]), cfg, 2);
    expect(open.finals.has('["r","eu",0]')).toBe(false);
    // Partition 0 closed its own part long ago; partition-local windows do not wait.
    expect(open.finals.has('["local","a",0]')).toBe(true);
    expect(open.streamTime.get(1)).toBe(CLOSE_0 - 1);

    const closed = runCrossPartitionOracle(records([...base, [1, ev('b', CLOSE_0, 0, 'us')]]), cfg, 2);
    expect(closed.finals.get('["r","eu",0]')?.values).toEqual({ n: 2, s: 3, lo: 1, hi: 2, mean: 1.5 });
  });

  it('lets a partition without records hold every merged window, and one that never saw the group only its watermark', () => {
    const input = records([
      [0, ev('a', 1_000, 4)],
      [1, ev('b', 2_000, 6)],
      [0, ev('a', 10 * MIN, 0, 'us')],
      [1, ev('b', 10 * MIN, 0, 'us')],
    ]);
    const blocked = runCrossPartitionOracle(input, cfg, 3);
    expect([...blocked.finals.keys()].filter((k) => k.startsWith('["r",'))).toEqual([]);
    expect(blocked.streamTime.get(2)).toBe(-Infinity);
    expect(blocked.duplicates.get(2)).toBe(0);
    expect(blocked.finals.has('["local","a",0]')).toBe(true);

    // Partition 2 only ever sees "us": it adds nothing to "eu" but its watermark lets it close.
    const unblocked = runCrossPartitionOracle([...input, ...records([[2, ev('c', CLOSE_0, 100, 'us')]])], cfg, 3);
    expect(unblocked.finals.get('["r","eu",0]')?.values).toEqual({ n: 2, s: 10, lo: 4, hi: 6, mean: 5 });
    expect(unblocked.finals.has('["r","us",0]')).toBe(false);
  });

  it('judges lateness per partition: late in partition 1, on time in partition 0', () => {
    const input = records([
      [1, ev('b', 10 * MIN, 0, 'us')],
      [1, ev('b', 100, 50)], // partition 1 is at 10m: every window holding 100 ms has closed
      [0, ev('a', 200, 7)], // partition 0 has seen nothing newer
      [0, ev('a', 10 * MIN, 0, 'us')],
    ]);
    const result = runCrossPartitionOracle(input, cfg, 2);
    expect([...result.deadLetters]).toEqual([['1:1', 'late']]);
    expect(result.outcomes.get('0:0')).toBe('accepted');
    expect(result.finals.get('["r","eu",0]')?.values).toEqual({ n: 1, s: 7, lo: 7, hi: 7, mean: 7 });
  });

  it('rejects records of a partition the topic does not have', () => {
    expect(() => runCrossPartitionOracle(records([[2, ev('a', 0, 0)]]), cfg, 2)).toThrow(/partition 2/);
  });
});

describe('cross-partition oracle over generated streams', () => {
  const opts = { seed: 42, partitions: 3, events: 5_000, stepMs: 150 };
  const stream = withClosingRecords(generateStream(opts), opts.partitions);

  it('puts a region on every event, spread over every partition', () => {
    for (const r of stream.filter((x) => x.kind === 'normal' || x.kind === 'flush')) {
      expect(REGIONS).toContain((JSON.parse(r.value!) as { region: string }).region);
    }
    for (const region of REGIONS) {
      const on = new Set(stream.filter((r) => r.kind === 'normal' && r.value!.includes(`"region":"${region}"`)).map((r) => r.partition));
      expect([...on].sort()).toEqual([0, 1, 2]);
    }
  });

  it('equals runOracle when every window is partition-local', () => {
    expect(runCrossPartitionOracle(stream, DEFAULT_TEST_PIPELINE, opts.partitions)).toEqual(runOracle(stream, DEFAULT_TEST_PIPELINE));
  });

  it('counts every accepted event of a 5m window once, whether grouped by player and action or by region', () => {
    const cross = runCrossPartitionOracle(stream, CROSS_TEST_PIPELINE, opts.partitions);
    const local = runOracle(stream, DEFAULT_TEST_PIPELINE);
    expect(cross.deadLetters).toEqual(local.deadLetters);
    expect(cross.duplicates).toEqual(local.duplicates);
    for (const [k, v] of local.finals) expect(cross.finals.get(k), k).toEqual(v);

    const perStart = (window: string): Map<number, number> => {
      const totals = new Map<number, number>();
      for (const f of cross.finals.values()) if (f.window === window) totals.set(f.start, (totals.get(f.start) ?? 0) + (f.values.actions as number));
      return totals;
    };
    const byRegion = perStart('per_region_5m_by_1m');
    expect(byRegion.size).toBeGreaterThan(5);
    expect(byRegion).toEqual(perStart('per_player_5m_by_1m'));
    const regions = new Set([...cross.finals.values()].filter((f) => f.window === 'per_region_5m_by_1m').map((f) => f.group.region));
    for (const region of REGIONS) expect(regions).toContain(region);
  });

  it('closes no merged window while one partition of the topic gets nothing', () => {
    const stuck = runCrossPartitionOracle(
      stream.filter((r) => r.partition !== 2),
      CROSS_TEST_PIPELINE,
      opts.partitions,
    );
    const windows = new Set([...stuck.finals.values()].map((f) => f.window));
    expect(windows).toEqual(new Set(['per_player_1m', 'per_player_5m_by_1m']));
  });
});

describe('skewedOrder', () => {
  it('puts partition 0 first and keeps every partition in offset order', () => {
    const stream = generateStream({ seed: 3, partitions: 3, events: 300 });
    const skewed = skewedOrder(stream);
    const zeros = stream.filter((r) => r.partition === 0).length;
    expect(skewed.slice(0, zeros).every((r) => r.partition === 0)).toBe(true);
    expect(skewed.slice(zeros).every((r) => r.partition !== 0)).toBe(true);
    for (const p of [0, 1, 2]) expect(skewed.filter((r) => r.partition === p).map((r) => r.offset)).toEqual(stream.filter((r) => r.partition === p).map((r) => r.offset));
  });
});

describe('pipelineYaml for the cross pipeline', () => {
  const base = { brokers: 'b:1', appId: 'app', input: 'in', output: 'out', dlq: 'dlq', stateDir: 's' };

  it('adds the region window, always emit: final', () => {
    const doc = parse(pipelineYaml({ ...base, windows: 'cross', emit: 'update' })) as { windows: { name: string; emit: string }[] };
    expect(doc.windows.map((w) => [w.name, w.emit])).toEqual([
      ['per_player_1m', 'update'],
      ['per_player_5m_by_1m', 'update'],
      ['per_region_5m_by_1m', 'final'],
    ]);
    expect(doc.windows[2]).toEqual({
      name: 'per_region_5m_by_1m',
      groupBy: ['region'],
      hopping: { size: '5m', advance: '1m' },
      grace: '30s',
      emit: 'final',
      aggregates: { actions: 'count()', points: 'sum(points)', best: 'max(score)', avgScore: 'avg(score)' },
    });
    expect(pipelineYaml(base)).toBe(pipelineYaml({ ...base, windows: 'default' }));
  });
});
