import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipelineSpec } from '../../../src/entry/app.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { storeTimes } from '../../../src/consumers/lane.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';
import { DLQ_HEADER } from '../../../src/processors/dead-letter.ts';
import type { OutRecord } from '../../../src/model/records.ts';
import { applyChangelogRecord, metaRecord } from '../../../src/state/changelog-codec.ts';
import type { ChangelogRecord } from '../../../src/state/changelog-codec.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';
import { StoreTransaction } from '../../../src/state/store-transaction.ts';
import { DEFAULT_TEST_PIPELINE, generateStream, pipelineYaml, withClosingRecords } from '../../helpers/event-stream.ts';
import type { GeneratedRecord } from '../../helpers/event-stream.ts';
import { runOracle } from '../../helpers/oracle.ts';
import { SESSIONS_TEST_PIPELINE } from '../../helpers/test-pipeline.ts';

const TOPICS = { input: 'events', output: 'aggregates', deadLetter: 'events.dlq' };
const PARTITIONS = 3;

function engineSpec(emit: 'final' | 'update', windows: 'default' | 'sessions' = 'default'): PipelineSpec {
  const yaml = pipelineYaml({ brokers: '127.0.0.1:9092', appId: 'unit', input: TOPICS.input, output: TOPICS.output, dlq: TOPICS.deadLetter, stateDir: 'state', emit, windows });
  return pipelineSpec(parseConfig(parse(yaml)));
}

let dir: string;
const stores = new Set<PartitionStore>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-batch-'));
});

afterEach(async () => {
  for (const s of stores) await s.close();
  stores.clear();
  rmSync(dir, { recursive: true, force: true });
});

function openStore(path: string, spec: PipelineSpec): PartitionStore {
  const store = new PartitionStore(path, storeTimes(spec));
  stores.add(store);
  return store;
}

async function closeStore(store: PartitionStore): Promise<void> {
  stores.delete(store);
  await store.close();
}

const toInput = (r: GeneratedRecord): InputRecord => ({
  offset: String(r.offset),
  key: r.key === null ? null : Buffer.from(r.key),
  value: r.value === null ? null : Buffer.from(r.value),
  timestamp: String(Date.now()),
});

type EngineRun = { finals: Map<string, unknown>; deadLetters: Map<string, string>; duplicates: Map<number, number>; streamTime: Map<number, number>; forgotten: number };

/** Keys that differ between two maps, a few of them, so a failure names records rather than dumping thousands. */
function mapDiff(actual: ReadonlyMap<string, unknown>, expected: ReadonlyMap<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of expected) if (JSON.stringify(actual.get(k)) !== JSON.stringify(v)) out.push(`${k}: engine ${JSON.stringify(actual.get(k))}, oracle ${JSON.stringify(v)}`);
  for (const k of actual.keys()) if (!expected.has(k)) out.push(`${k}: engine ${JSON.stringify(actual.get(k))}, oracle none`);
  return out.slice(0, 10);
}

/** Keys, values and both indexes of a store, for every key the changelog ever named. */
function contents(store: PartitionStore, log: readonly ChangelogRecord[]) {
  const keys = [...new Set(log.map((r) => r.key))].sort();
  return {
    entries: keys.map((k) => [k, k.startsWith('d|') ? store.getDedupe(k.slice(2)) : k.startsWith('w|') ? store.getWindow(k.slice(2)) : null]),
    closing: [...store.windowsClosingBy(Number.MAX_SAFE_INTEGER, 1e9)],
    forgettable: [...store.idsForgettableBy(Number.MAX_SAFE_INTEGER, 1e9)],
    streamTime: store.meta().streamTime,
    inputOffset: store.meta().inputOffset,
  };
}

/**
 * Drives each partition the way Lane + Checkpoint do, minus Kafka: a fresh StoreTransaction per
 * chunk, commitLocal after it, the returned stream time carried into the next chunk. Every
 * `reopenEvery` chunks the store is closed and reopened and stream time re-read from its meta,
 * as a new lane would. The changelog is replayed into a replica that must end up identical.
 */
async function runEngine(stream: readonly GeneratedRecord[], spec: PipelineSpec, chunkSizes: readonly number[], reopenEvery: number): Promise<EngineRun> {
  const run: EngineRun = { finals: new Map(), deadLetters: new Map(), duplicates: new Map(), streamTime: new Map(), forgotten: 0 };
  const times = storeTimes(spec);
  let chunkNo = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const input = stream.filter((r) => r.partition === p).map(toInput);
    const path = join(dir, `p${p}.mdb`);
    let store = openStore(path, spec);
    let processor = new BatchProcessor(spec, TOPICS, p);
    let streamTime = store.meta().streamTime;
    const log: ChangelogRecord[] = [];
    let duplicates = 0;
    for (let i = 0; i < input.length; chunkNo++) {
      const chunk = input.slice(i, i + chunkSizes[chunkNo % chunkSizes.length]!);
      i += chunk.length;
      const tx = new StoreTransaction(store, times);
      const result = processor.process(chunk, tx, streamTime);
      const nextOffset = String(Number(chunk.at(-1)!.offset) + 1);
      log.push(...tx.changelogRecords(), metaRecord({ inputOffset: nextOffset, streamTime: result.streamTime }));
      tx.commitLocal(undefined, { inputOffset: nextOffset, changelogNext: undefined, streamTime: result.streamTime });
      streamTime = result.streamTime;
      duplicates += result.stats.duplicates;
      run.forgotten += result.stats.forgotten;
      collect(run, p, result.records, chunk);
      if (chunkNo % reopenEvery === reopenEvery - 1) {
        await closeStore(store);
        store = openStore(path, spec);
        processor = new BatchProcessor(spec, TOPICS, p);
        streamTime = store.meta().streamTime;
      }
    }
    run.duplicates.set(p, duplicates);
    run.streamTime.set(p, streamTime);

    const replica = openStore(join(dir, `replica-${p}.mdb`), spec);
    replica.write((w) => {
      for (const r of log) applyChangelogRecord(w, r.key, r.value);
    });
    expect(contents(replica, log)).toEqual(contents(store, log));
  }
  return run;
}

function collect(run: EngineRun, p: number, records: readonly OutRecord[], chunk: readonly InputRecord[]): void {
  for (const r of records) {
    if (r.topic === TOPICS.output) {
      const value = JSON.parse(String(r.value)) as { final: boolean };
      if (!value.final) continue;
      expect(run.finals.has(String(r.key)), `window ${String(r.key)} closed twice`).toBe(false);
      run.finals.set(String(r.key), value);
    } else {
      expect(r.topic).toBe(TOPICS.deadLetter);
      const offset = String(r.headers![DLQ_HEADER.offset]);
      expect(run.deadLetters.has(`${p}:${offset}`), `second dead letter for ${p}:${offset}`).toBe(false);
      run.deadLetters.set(`${p}:${offset}`, String(r.headers![DLQ_HEADER.reason]));
      expect(r.value).toEqual(chunk.find((c) => c.offset === offset)!.value);
    }
  }
}

const chunkSize = fc.oneof(
  { weight: 4, arbitrary: fc.constant(1) },
  { weight: 4, arbitrary: fc.integer({ min: 2, max: 12 }) },
  { weight: 2, arbitrary: fc.integer({ min: 13, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 301, max: 2500 }) },
);
// Sizes are used in a cycle; ending each cycle with a large chunk bounds the commits per run
// (each costs an LMDB sync), while runs of small chunks still put boundaries almost everywhere.
const chunkPlan = fc.tuple(fc.array(chunkSize, { minLength: 1, maxLength: 40 }), fc.integer({ min: 301, max: 2500 })).map(([sizes, big]) => [...sizes, big]);

describe('BatchProcessor over a real store, against the oracle', () => {
  it('results do not depend on where batches end', async () => {
    let repeats = 0;
    let forgotten = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(150, 400),
        fc.constantFrom('final' as const, 'update' as const),
        chunkPlan,
        fc.integer({ min: 4, max: 25 }),
        async (seed, stepMs, emit, chunkSizes, reopenEvery) => {
          for (const s of stores) await closeStore(s);
          rmSync(dir, { recursive: true, force: true });
          const stream = withClosingRecords(generateStream({ seed, partitions: PARTITIONS, events: 6000, stepMs }), PARTITIONS);
          const oracle = runOracle(stream, DEFAULT_TEST_PIPELINE);
          const engine = await runEngine(stream, engineSpec(emit), chunkSizes, reopenEvery);

          expect(mapDiff(engine.finals, oracle.finals)).toEqual([]);
          expect(mapDiff(engine.deadLetters, oracle.deadLetters)).toEqual([]);
          expect(engine.duplicates).toEqual(oracle.duplicates);
          expect(engine.streamTime).toEqual(oracle.streamTime);
          expect(oracle.finals.size).toBeGreaterThan(0);
          repeats += stream.filter((r) => r.kind === 'repeat-after-ttl').length;
          forgotten += engine.forgotten;
        },
      ),
      {
        numRuns: 4,
        // Fixed plans first: one record per batch for a stretch, then huge batches, then a mix.
        examples: [
          [7, 150, 'final', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2500, 1, 3, 700], 5],
          [11, 400, 'update', [1, 2, 1, 1, 3, 1, 1, 2, 40, 1, 1, 600], 4],
        ],
      },
    );
    // The property is only as strong as the stream: it must have exercised ttl repeats and forgetting.
    expect(repeats).toBeGreaterThan(0);
    expect(forgotten).toBeGreaterThan(0);
  }, 60_000);
});

describe('session windows over a real store, against the oracle', () => {
  it('sessions do not depend on where batches end, and a restore rebuilds them exactly', async () => {
    let bridges = 0;
    let sessions = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), chunkPlan, fc.integer({ min: 2, max: 25 }), async (seed, chunkSizes, reopenEvery) => {
        for (const s of stores) await closeStore(s);
        rmSync(dir, { recursive: true, force: true });
        const stream = withClosingRecords(generateStream({ seed, partitions: PARTITIONS, events: 4000, stepMs: 150 }), PARTITIONS);
        const oracle = runOracle(stream, SESSIONS_TEST_PIPELINE);
        // runEngine replays each partition's changelog into a replica and compares them, close index included.
        const engine = await runEngine(stream, engineSpec('update', 'sessions'), chunkSizes, reopenEvery);
        expect(mapDiff(engine.finals, oracle.finals)).toEqual([]);
        expect(mapDiff(engine.deadLetters, oracle.deadLetters)).toEqual([]);
        expect(engine.duplicates).toEqual(oracle.duplicates);
        bridges += oracle.sessionBridges;
        sessions += [...oracle.finals.values()].filter((f) => f.window === 'player_sessions').length;
      }),
      { numRuns: 4, examples: [[5, [1, 1, 1, 1, 1, 1, 2, 1, 3, 1, 900], 3]] },
    );
    // Only as strong as the stream: it must have merged sessions by a bridging event.
    expect(bridges).toBeGreaterThan(0);
    expect(sessions).toBeGreaterThan(100);
  }, 90_000);
});

describe('BatchProcessor cases', () => {
  const MIN = 60_000;
  const small = (emit: 'final' | 'update', maxRecordBytes = 1000): PipelineSpec => ({
    keyField: 'k',
    idField: 'id',
    dedupeTtlMs: 1000,
    eventTimeField: 't',
    maxRecordBytes,
    windows: [{ name: 'w', groupBy: ['k'], kind: 'tumbling', sizeMs: MIN, advanceMs: MIN, graceMs: 0, emit, aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
  });
  let offset = 0;
  const ev = (k: string, t: number, id = `e${offset}`): InputRecord => ({ offset: String(offset++), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ id, k, t })), timestamp: '0' });

  /** One lane's state across chunks; each run is one transaction committed like Checkpoint does. */
  function lane(spec: PipelineSpec) {
    const store = openStore(join(dir, 'lane.mdb'), spec);
    const processor = new BatchProcessor(spec, TOPICS, 0);
    let streamTime = Number.NEGATIVE_INFINITY;
    return {
      store,
      run(records: InputRecord[]) {
        const tx = new StoreTransaction(store, storeTimes(spec));
        const result = processor.process(records, tx, streamTime);
        const changelog = tx.changelogRecords();
        tx.commitLocal(undefined, { inputOffset: String(offset), changelogNext: undefined, streamTime: result.streamTime });
        streamTime = result.streamTime;
        const outputs = result.records.filter((r) => r.topic === TOPICS.output).map((r) => [r.key, JSON.parse(String(r.value)) as { final: boolean; values: { n: number } }] as const);
        const summary = outputs.map(([k, v]) => `${String(k)} ${v.final ? 'final' : 'update'} n=${v.values.n}`).sort();
        return { result, changelog, summary, deadLetters: result.records.filter((r) => r.topic === TOPICS.deadLetter) };
      },
    };
  }

  it('emit update: final:false for each touched window per chunk, final:true once at close, never both at once', () => {
    const l = lane(small('update'));
    expect(l.run([ev('a', 1000), ev('b', 2000), ev('a', 3000)]).summary).toEqual(['["w","a",0] update n=2', '["w","b",0] update n=1']);
    expect(l.run([ev('a', 30_000)]).summary).toEqual(['["w","a",0] update n=3']);
    // b's window closes untouched; a's is touched and closed in the same chunk: only its final.
    expect(l.run([ev('a', 40_000), ev('a', MIN + 5)]).summary).toEqual(['["w","a",0] final n=4', '["w","a",60000] update n=1', '["w","b",0] final n=1']);
    expect(l.run([ev('c', MIN + 10)]).summary).toEqual(['["w","c",60000] update n=1']);
  });

  it('emit final: no update records, and a window born and closed in one chunk leaves no changelog trace', () => {
    const l = lane(small('final'));
    const { summary, changelog, result } = l.run([ev('a', 1000), ev('a', 2000), ev('a', MIN + 1)]);
    expect(summary).toEqual(['["w","a",0] final n=2']);
    expect(result.stats).toMatchObject({ finals: 1, updates: 0 });
    expect(changelog.map((r) => r.key).filter((k) => k.startsWith('w|'))).toEqual(['w|["w","a",60000]']);
    expect(l.store.getWindow('["w","a",0]')).toBeUndefined();
    expect(l.store.countWindows()).toBe(1);
  });

  it('late records become late dead letters and change no state', () => {
    const l = lane(small('final'));
    l.run([ev('a', 5 * MIN)]);
    const before = { window: l.store.getWindow('["w","a",300000]'), windows: l.store.countWindows(), ids: l.store.countDedupe(), streamTime: l.store.meta().streamTime };
    const { deadLetters, changelog, result } = l.run([ev('a', 1000, 'late-id'), ev('b', 4 * MIN - 1, 'late-too')]);
    expect(deadLetters.map((d) => d.headers![DLQ_HEADER.reason])).toEqual(['late', 'late']);
    expect(result.stats).toMatchObject({ late: 2, duplicates: 0, finals: 0 });
    expect(result.stats.deadLetters).toEqual(new Map([['late', 2]]));
    expect(result.streamTime).toBe(5 * MIN);
    expect(changelog).toEqual([]);
    expect(l.store.getDedupe('late-id')).toBeUndefined();
    expect({ window: l.store.getWindow('["w","a",300000]'), windows: l.store.countWindows(), ids: l.store.countDedupe(), streamTime: l.store.meta().streamTime }).toEqual(before);
  });

  it('an oversized record becomes a dead letter without its value, with its size', () => {
    const l = lane(small('final', 40));
    const big: InputRecord = { offset: '77', key: Buffer.from('a'), value: Buffer.from('x'.repeat(41)), timestamp: '123', headers: { trace: 't1' } };
    const bad: InputRecord = { offset: '78', key: Buffer.from('a'), value: Buffer.from('{nope'), timestamp: '124' };
    const { deadLetters } = l.run([big, bad]);
    expect(deadLetters).toHaveLength(2);
    const [dl, other] = deadLetters;
    expect(dl!.key).toEqual(Buffer.from('a'));
    expect(dl!.value).toBeNull();
    expect(dl!.headers).toMatchObject({ trace: 't1', [DLQ_HEADER.reason]: 'oversized', [`${DLQ_HEADER.reason}.size`]: '41', [DLQ_HEADER.offset]: '77', [DLQ_HEADER.partition]: '0', [DLQ_HEADER.topic]: TOPICS.input, [DLQ_HEADER.timestamp]: '123' });
    expect(other!.value).toEqual(Buffer.from('{nope'));
    expect(other!.headers).toMatchObject({ [DLQ_HEADER.reason]: 'invalid-json' });
    expect(other!.headers).not.toHaveProperty(`${DLQ_HEADER.reason}.size`);
  });

  it('a dead letter leaves out a value too large for the dead-letter topic, keeping its reason', () => {
    const l = lane(small('final', 2 * 1024 * 1024));
    const huge: InputRecord = { offset: '80', key: Buffer.from('a'), value: Buffer.alloc(950 * 1024, 0x61), timestamp: '125' };
    const { deadLetters } = l.run([huge]);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.value).toBeNull();
    expect(deadLetters[0]!.headers).toMatchObject({ [DLQ_HEADER.reason]: 'invalid-json', [`${DLQ_HEADER.reason}.size`]: String(950 * 1024) });
  });

  it('duplicates are dropped across chunk boundaries and counted', () => {
    const l = lane(small('final'));
    l.run([ev('a', 1000, 'x')]);
    const { result } = l.run([ev('a', 1500, 'x'), ev('a', 2001, 'x'), ev('a', 2500, 'x')]);
    expect(result.stats.duplicates).toBe(2);
    expect(l.store.getDedupe('x')).toBe(2001);
    expect(l.run([ev('a', MIN)]).summary).toEqual(['["w","a",0] final n=2']);
  });

  // Removing a window from the config must not wedge a partition whose state still holds it.
  it('drops, without output, the state of a window the pipeline no longer defines', () => {
    const spec = small('final');
    const store = openStore(join(dir, 'old.mdb'), spec);
    store.write((w) => w.putWindow('["gone","a",0]', { w: 'gone', g: ['a'], s: 0, a: [1] }));
    const tx = new StoreTransaction(store, storeTimes(spec));
    const result = new BatchProcessor(spec, TOPICS, 0).process([ev('a', 1000)], tx, Number.NEGATIVE_INFINITY);
    expect(result.stats.dropped).toBe(1);
    expect(result.records.filter((r) => String(r.key).startsWith('["gone"'))).toEqual([]);
    expect(tx.changelogRecords()).toContainEqual({ key: 'w|["gone","a",0]', value: null });
  });
});
