// The dlq commands over a fake client port: what they select, what a replay produces, how an
// interrupted replay stops, and what they print. The real broker runs them in
// test/integration/dlq-replay.test.ts.
import { describe, expect, it } from 'vitest';
import type { DeliverRecords, PartitionReadRequest, StreamClient } from '../../../src/clients/port.ts';
import { configSchema } from '../../../src/config/schema.ts';
import { inspectDeadLetters, parseSince, replayDeadLetters, replayRecord } from '../../../src/entry/dlq.ts';
import type { DlqIo } from '../../../src/entry/dlq.ts';
import type { DeadLetter } from '../../../src/entry/dlq-scan.ts';
import type { InputRecord, OutRecord } from '../../../src/model/records.ts';

const config = configSchema.parse({
  kafka: { brokers: ['127.0.0.1:9092'] },
  application: { id: 'app' },
  input: { topic: 'in', key: 'k' },
  windows: [{ name: 'w', groupBy: ['k'], tumbling: '1m', aggregates: { n: 'count()' } }],
  output: { topic: 'out' },
  deadLetter: { topic: 'dlq' },
});

function deadLetterRecord(offset: number, reason: string, opts: { value?: string | null; at?: number; originPartition?: number; extra?: Record<string, string> } = {}): InputRecord {
  return {
    offset: String(offset),
    key: Buffer.from(`k${offset}`),
    value: opts.value === null ? null : Buffer.from(opts.value ?? `{"n":${offset}}`),
    timestamp: String(opts.at ?? 1_000 + offset),
    headers: {
      ...opts.extra,
      'sluice.reason': reason,
      'sluice.stage': reason === 'late' ? 'window' : 'decode',
      'sluice.detail': `why ${offset}`,
      'sluice.origin.topic': 'in',
      'sluice.origin.partition': String(opts.originPartition ?? 1),
      'sluice.origin.offset': String(100 + offset),
      'sluice.origin.timestamp': String(500 + offset),
    },
  };
}

/** A dead-letter topic of one partition, fetched two records at a time; produced records are kept. */
function fakeClient(dlq: InputRecord[], opts: { inputPartitions?: number; topics?: string[] } = {}) {
  const produced: OutRecord[][] = [];
  const topics = new Map((opts.topics ?? ['dlq', 'in']).map((t) => [t, t === 'in' ? (opts.inputPartitions ?? 4) : 1]));
  const client = {
    topics: { partitionCounts: async (names: readonly string[]) => new Map([...topics].filter(([t]) => names.includes(t))) },
    logStartOffset: async () => '0',
    highWatermark: async () => String(dlq.length),
    partitionReader: {
      async read(req: PartitionReadRequest, deliver: DeliverRecords) {
        for (let i = Number(req.fromOffset); i < Number(req.untilOffset); i += 2) await deliver(dlq.slice(i, i + 2), BigInt(Math.min(i + 2, dlq.length)));
      },
    },
    producer: async () => ({ send: async (records: readonly OutRecord[]) => void produced.push([...records]), close: async () => undefined }),
  };
  return { client: client as unknown as StreamClient, produced };
}

function io(stopAfter?: () => boolean): DlqIo & { lines: string[]; progress: string[] } {
  const lines: string[] = [];
  const progress: string[] = [];
  return { lines, progress, out: (line) => lines.push(line), err: { isTTY: false, write: (t: string) => progress.push(t) }, stopRequested: stopAfter ?? (() => false) };
}

const all = { reasons: new Set<string>(), sinceMs: undefined };

describe('parseSince', () => {
  it('takes a duration back from now, or an ISO-8601 time with a zone, or a date', () => {
    expect(parseSince('2h', 10_000_000)).toBe(10_000_000 - 7_200_000);
    expect(parseSince('2026-11-29T12:00:00Z', 0)).toBe(Date.UTC(2026, 10, 29, 12));
    expect(parseSince('2026-11-29', 0)).toBe(Date.UTC(2026, 10, 29));
  });

  it('refuses anything else with SLUICE_ARGUMENT_INVALID', () => {
    for (const text of ['2026-11-29T12:00:00', 'yesterday', '2 h', '']) expect(() => parseSince(text, 0), text).toThrow(expect.objectContaining({ code: 'SLUICE_ARGUMENT_INVALID' }));
  });
});

describe('replayRecord', () => {
  const dl = (over: Partial<DeadLetter['origin']> = {}, headers: DeadLetter['headers'] = {}): DeadLetter => ({
    partition: 0, offset: '7', timestamp: 0, reason: 'invalid', stage: 'normalize', field: 'points', detail: 'x',
    origin: { topic: 'in', partition: 2, offset: '40', timestamp: '1700000000000', ...over },
    key: Buffer.from('k'), value: Buffer.from('v'), valueLeftOut: false, headers,
  });

  it('is the original: key, value, headers without sluice.*, its partition and timestamp', () => {
    const r = replayRecord(dl({}, { trace: 'abc', hop: ['a', 'b'], 'sluice.reason': 'invalid', 'sluice.origin.offset': '40' }), 'in', 4);
    expect(r).toEqual({ topic: 'in', partition: 2, key: Buffer.from('k'), value: Buffer.from('v'), headers: { trace: 'abc', hop: ['a', 'b'] }, timestamp: '1700000000000' });
  });

  it('leaves the partition to the key when the input has fewer partitions now, and the timestamp to the producer when unknown', () => {
    const r = replayRecord(dl({ partition: 6, timestamp: undefined }), 'in', 4);
    expect(r.partition).toBeUndefined();
    expect(r.timestamp).toBeUndefined();
  });
});

describe('dlq inspect', () => {
  it('counts per reason, most first, with a few samples of each and progress lines', async () => {
    const records = [0, 1, 2, 3, 4, 5].map((i) => deadLetterRecord(i, i < 4 ? 'not-a-number' : 'late'));
    const { client } = fakeClient(records);
    const out = io();
    await inspectDeadLetters(client, config, all, out);
    expect(out.lines[0]).toBe('dlq: 6 dead letters, 6 selected');
    expect(out.lines[1]).toMatch(/^ {2}not-a-number +4 {3}stage decode$/);
    expect(out.lines[2]).toMatch(/^ {2}late +2 {3}stage window$/);
    expect(out.lines.filter((l) => l.startsWith('  dlq 0@'))).toHaveLength(5);
    expect(out.lines).toContain('  dlq 0@4 from in/1@104 at 1970-01-01T00:00:01.004Z');
    expect(out.progress.at(-1)).toBe('reading dlq: 100% 6 selected\n');
  });

  it('filters by reason and by when the record was dead-lettered', async () => {
    const records = [deadLetterRecord(0, 'late', { at: 10 }), deadLetterRecord(1, 'late', { at: 50 }), deadLetterRecord(2, 'invalid', { at: 60 })];
    const out = io();
    await inspectDeadLetters(fakeClient(records).client, config, { reasons: new Set(['late']), sinceMs: 40 }, out);
    expect(out.lines[0]).toBe('dlq: 3 dead letters, 1 selected (reason late, dead-lettered since 1970-01-01T00:00:00.040Z)');
  });

  it('says which topic is missing', async () => {
    await expect(inspectDeadLetters(fakeClient([], { topics: ['in'] }).client, config, all, io())).rejects.toMatchObject({ code: 'SLUICE_TOPIC_MISSING', message: 'dead-letter topic dlq does not exist' });
  });
});

describe('dlq replay', () => {
  it('produces the selected originals in offset order, a null value too, and skips those whose value was left out', async () => {
    const records = [deadLetterRecord(0, 'invalid'), deadLetterRecord(1, 'late'), deadLetterRecord(2, 'oversized', { value: null, extra: { 'sluice.reason.size': '2000000' } }), deadLetterRecord(3, 'invalid', { value: null })];
    const { client, produced } = fakeClient(records);
    const out = io();
    const outcome = await replayDeadLetters(client, config, { reasons: new Set(['invalid', 'oversized']), sinceMs: undefined }, false, out);
    expect(outcome).toEqual({ replayed: 2, skipped: 1, interrupted: false });
    expect(produced.flat().map((r) => [r.key?.toString(), r.value?.toString(), r.partition, r.timestamp, r.headers])).toEqual([
      ['k0', '{"n":0}', 1, '500', {}],
      ['k3', undefined, 1, '503', {}],
    ]);
    expect(out.lines[0]).toBe('note: this pipeline has no dedupe, so a record replayed twice is counted twice (docs/dead-letters.md)');
    expect(out.lines[1]).toBe('replayed 2 dead letters (reason invalid or oversized) to in; 1 skipped: their value was too large to keep, see sluice.origin.* for where it is');
  });

  it('a dry run produces nothing and says what it would replay', async () => {
    const { client, produced } = fakeClient([deadLetterRecord(0, 'invalid')]);
    const out = io();
    expect(await replayDeadLetters(client, config, all, true, out)).toEqual({ replayed: 1, skipped: 0, interrupted: false });
    expect(produced).toEqual([]);
    expect(out.lines[0]).toBe('would replay 1 dead letters to in');
  });

  it('stops between fetches once asked to, having sent only whole acknowledged requests', async () => {
    const records = Array.from({ length: 10 }, (_, i) => deadLetterRecord(i, 'invalid'));
    const { client, produced } = fakeClient(records);
    let fetches = 0;
    const out = io(() => ++fetches > 2);
    const outcome = await replayDeadLetters(client, config, all, false, out);
    expect(outcome.interrupted).toBe(true);
    expect(outcome.replayed).toBe(produced.flat().length);
    expect(out.lines[1]).toBe(`interrupted after replaying ${outcome.replayed} dead letters to in`);
  });

  it('needs the input topic', async () => {
    await expect(replayDeadLetters(fakeClient([], { topics: ['dlq'] }).client, config, all, false, io())).rejects.toMatchObject({ code: 'SLUICE_TOPIC_MISSING', message: 'input topic in does not exist' });
  });
});
