// A known id within the ttl is a duplicate whatever its lateness (issue 11, part 3 item 4): a
// retry of an event whose windows have closed is dropped and counted, not dead-lettered as late.
// A late event whose id was never seen stays `late`, and its id is not recorded.
import { describe, expect, it } from 'vitest';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';
import { dedupeRetentionMs } from '../../../src/processors/window-math.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import { MemoryStore } from '../../helpers/memory-store.ts';

const MIN = 60_000;
const TTL = 10 * MIN;
const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const SPEC: PipelineSpec = {
  keyField: 'k',
  idField: 'id',
  dedupeTtlMs: TTL,
  eventTimeField: 't',
  maxRecordBytes: 1000,
  windows: [{ name: 'w', groupBy: ['k'], kind: 'tumbling', sizeMs: MIN, advanceMs: MIN, graceMs: 0, emit: 'final', aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
};
// t0 + ttl + the longest window and grace: the stream time from which an id may be forgotten.
const RETENTION = TTL + MIN;

let offset = 0;
const ev = (id: string, t: number): InputRecord => ({ offset: String(offset++), key: Buffer.from('a'), value: Buffer.from(JSON.stringify({ id, k: 'a', t })), timestamp: '0' });

/** One lane: each call is one batch, stream time carried over as the lane does. */
function lane() {
  const store = new MemoryStore(SPEC);
  const processor = new BatchProcessor(SPEC, TOPICS, 0);
  let streamTime = Number.NEGATIVE_INFINITY;
  const totals = { duplicates: 0, late: 0, finals: new Map<string, number>(), deadLetters: [] as string[] };
  return {
    store,
    totals,
    run(records: InputRecord[]) {
      const result = processor.process(records, store.nextBatch(), streamTime);
      streamTime = result.streamTime;
      totals.duplicates += result.stats.duplicates;
      totals.late += result.stats.late;
      for (const r of result.records) {
        if (r.topic === TOPICS.deadLetter) totals.deadLetters.push(`${String(r.headers![DLQ_HEADER.offset])}:${String(r.headers![DLQ_HEADER.reason])}`);
        else if (r.topic === TOPICS.output) totals.finals.set(String(r.key), (JSON.parse(String(r.value)) as { values: { n: number } }).values.n);
      }
      return result;
    },
  };
}

describe('dedupe before lateness', () => {
  it('the retention the test assumes is the engine’s', () => {
    expect(dedupeRetentionMs(SPEC)).toBe(RETENTION);
  });

  it('drops and counts a retry whose windows have all closed, with no dead letter', () => {
    const l = lane();
    l.run([ev('x', 1000)]);
    l.run([ev('y', 5 * MIN)]);
    const exact = ev('x', 1000);
    const shifted = ev('x', 1000 + TTL);
    const result = l.run([exact, shifted]);
    expect(result.stats).toMatchObject({ duplicates: 2, late: 0 });
    expect(result.records).toEqual([]);
    expect(l.totals.deadLetters).toEqual([]);
    // Duplicates never move t0.
    expect(l.store.ids.get('x')).toBe(1000);
    l.run([ev('z', 20 * MIN)]);
    expect(l.totals.finals.get('["w","a",0]')).toBe(1);
  });

  it('dead-letters a late event whose id was never seen as late, and does not record the id', () => {
    const l = lane();
    l.run([ev('x', 5 * MIN)]);
    const late = ev('new', 1000);
    const result = l.run([late, ev('new', 2000)]);
    expect(result.stats).toMatchObject({ duplicates: 0, late: 2 });
    expect(l.totals.deadLetters).toEqual([`${late.offset}:late`, `${Number(late.offset) + 1}:late`]);
    expect(l.store.ids.has('new')).toBe(false);
    // Not counted, so not a duplicate either once it comes on time.
    l.run([ev('new', 5 * MIN + 1)]);
    expect(l.totals.duplicates).toBe(0);
    l.run([ev('flush', 20 * MIN)]);
    expect(l.totals.finals.get('["w","a",300000]')).toBe(2);
  });

  it('a late event past the ttl of a known id is late, and leaves its t0 alone', () => {
    const l = lane();
    // Stream time closes the retry's window [10m, 11m) but is still short of x's retention.
    l.run([ev('x', 1000), ev('y', TTL + MIN)]);
    const result = l.run([ev('x', 1000 + TTL + 1)]);
    expect(result.stats).toMatchObject({ duplicates: 0, late: 1 });
    expect(l.store.ids.get('x')).toBe(1000);
  });

  // Forgetting is lazy (at the end of a batch, capped per batch), so whether the id is still
  // stored at the retry depends on where batches ended; the verdict must not.
  it('from t0 + retention on, a retry within the ttl is late, whether its id was forgotten yet or not', () => {
    const retry = () => ev('x', 1000 + TTL);
    const forgotten = lane();
    forgotten.run([ev('x', 1000)]);
    forgotten.run([ev('y', 1000 + RETENTION)]);
    expect(forgotten.store.ids.has('x')).toBe(false);
    forgotten.run([retry()]);

    const kept = lane();
    kept.run([ev('x', 1000), ev('y', 1000 + RETENTION), retry()]);

    const justBefore = lane();
    justBefore.run([ev('x', 1000), ev('y', 1000 + RETENTION - 1), retry()]);

    expect([forgotten.totals, kept.totals, justBefore.totals].map((t) => [t.duplicates, t.late])).toEqual([
      [0, 1],
      [0, 1],
      [1, 0],
    ]);
  });
});
