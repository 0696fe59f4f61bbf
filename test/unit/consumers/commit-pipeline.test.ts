// A lane's commit pipeline (src/consumers/commit-pipeline.ts) with the real processor and LMDB
// store, and a sink whose commits the test releases or fails: the next batch is processed while
// the previous one commits, transactions still land one at a time and in order, and a failed
// commit takes what was built on it along.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lane } from '../../../src/consumers/lane.ts';
import type { InputPosition, LaneSink } from '../../../src/clients/port.ts';
import { createLogger } from '../../../src/log.ts';
import type { InputRecord, OutRecord } from '../../../src/model/records.ts';
import { metricsObserver } from '../../../src/observability/lane-observer.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';

const spec: PipelineSpec = {
  keyField: 'k',
  idField: 'id',
  dedupeTtlMs: 60_000,
  eventTimeField: 't',
  maxRecordBytes: 1 << 20,
  windows: [{ name: 'w', groupBy: ['k'], kind: 'tumbling', sizeMs: 60_000, advanceMs: 60_000, graceMs: 0, emit: 'update', aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
};

interface HeldCommit {
  outputs: readonly OutRecord[];
  changelog: readonly OutRecord[];
  position: InputPosition;
  release(): void;
  fail(err: Error): void;
}

/** A sink whose every commit waits for the test to release or fail it. */
class HeldSink implements LaneSink {
  readonly commits: HeldCommit[] = [];
  private end = 0;
  private waiters: (() => void)[] = [];
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  commit(outputs: readonly OutRecord[], changelog: readonly OutRecord[], position: InputPosition): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.commits.push({
        outputs,
        changelog,
        position,
        release: () => {
          this.end += changelog.length + 1;
          resolve(String(this.end));
        },
        fail: reject,
      });
      for (const w of this.waiters.splice(0)) w();
    });
  }
  /** resolves once `n` commits have started */
  async started(n: number): Promise<HeldCommit> {
    while (this.commits.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.commits[n - 1]!;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The real processor, except that a record with id "boom" throws after the chunk's earlier writes. */
function explodingProcessor(): BatchProcessor {
  const real = new BatchProcessor(spec, { input: 'in', output: 'out', deadLetter: 'dlq' }, 0);
  const process: BatchProcessor['process'] = (records, store, streamTime, deadline) => {
    const at = records.findIndex((r) => String(r.value).includes('"boom"'));
    if (at < 0) return real.process(records, store, streamTime, deadline);
    real.process(records.slice(0, at), store, streamTime, deadline);
    throw new Error('processor failed mid-chunk');
  };
  return Object.assign(Object.create(real) as BatchProcessor, { process });
}

async function openLane(sink: HeldSink, processor = new BatchProcessor(spec, { input: 'in', output: 'out', deadLetter: 'dlq' }, 0)): Promise<Lane> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pipeline-'));
  dirs.push(dir);
  const lane = new Lane({
    kind: 'source',
    partition: 0,
    spec,
    processor,
    topics: { input: 'in', changelog: 'cl' },
    guarantee: 'exactly-once',
    storePath: join(dir, 'partition-0.mdb'),
    lockWaitMs: 1000,
    batching: { maxRecords: 1000, maxBytes: 1 << 20, targetLatencyMs: 50, maxIntervalMs: 1000 },
    tombstoneRetentionMs: 60_000,
    sink,
    restorer: { restore: async () => undefined },
    changelogEnd: async () => '0',
    committedOffset: async () => undefined,
    observer: metricsObserver(createMetrics({ application: 'pipeline-test' }), '0', 'source'),
    log: createLogger('error'),
  });
  await lane.open(async () => undefined);
  return lane;
}

const T0 = 1_700_000_000_000;
function records(from: number, events: { k: string; id: string }[]): InputRecord[] {
  return events.map((e, i) => ({
    offset: String(from + i),
    timestamp: String(T0),
    key: Buffer.from(e.k),
    value: Buffer.from(JSON.stringify({ ...e, t: T0 + 1000 })),
    headers: {},
  }));
}

const counts = (outputs: readonly OutRecord[]) => outputs.map((r) => [String(r.key), (JSON.parse(String(r.value)) as { values: { n: number } }).values.n]);
const heartbeat = async () => undefined;

describe('a lane commit pipeline', () => {
  it('processes the next batch while the previous one commits, then commits it on top, in order', async () => {
    const sink = new HeldSink();
    const lane = await openLane(sink);
    expect(await lane.process(records(0, [{ k: 'a', id: '1' }, { k: 'b', id: '2' }]), heartbeat)).toBe('1');
    const first = await sink.started(1);
    // The first transaction is still in flight: the second batch reads its writes (a's count,
    // and id 1 as a duplicate) and waits as the pending transaction.
    expect(await lane.process(records(2, [{ k: 'a', id: '3' }, { k: 'a', id: '1' }]), heartbeat)).toBe('3');
    expect(await lane.process(records(4, [{ k: 'c', id: '4' }]), heartbeat)).toBe('4');
    expect(sink.commits).toHaveLength(1);
    expect(counts(first.outputs)).toEqual([
      ['["w","a",1699999980000]', 1],
      ['["w","b",1699999980000]', 1],
    ]);
    first.release();
    const second = await sink.started(2);
    // Both later batches in one transaction, with the counts on top of the first one's.
    expect(second.position.nextOffset).toBe('5');
    expect(counts(second.outputs)).toEqual([
      ['["w","a",1699999980000]', 2],
      ['["w","c",1699999980000]', 1],
    ]);
    second.release();
    await lane.flush();
    expect(lane.restartOffset).toBe('5');
    await lane.close();
  });

  it('drops what was built on a failed commit: its batches fail, the lane refuses more, and restarts from the last landed offset', async () => {
    const sink = new HeldSink();
    const lane = await openLane(sink);
    await lane.process(records(0, [{ k: 'a', id: '1' }]), heartbeat);
    (await sink.started(1)).release();
    await lane.flush();
    await lane.process(records(1, [{ k: 'a', id: '2' }]), heartbeat);
    const inFlight = await sink.started(2);
    await lane.process(records(2, [{ k: 'a', id: '3' }]), heartbeat);
    const pending = lane.settled();
    inFlight.fail(new Error('broker said no'));
    await expect(pending).rejects.toThrow('broker said no');
    await expect(lane.process(records(3, [{ k: 'a', id: '4' }]), heartbeat)).rejects.toThrow('broker said no');
    expect(sink.commits).toHaveLength(2);
    expect(lane.restartOffset).toBe('1');
    await lane.close({ flush: false });
    expect(sink.commits).toHaveLength(2);
  });

  it('commits what is pending before it closes', async () => {
    const sink = new HeldSink();
    const lane = await openLane(sink);
    await lane.process(records(0, [{ k: 'a', id: '1' }]), heartbeat);
    await lane.process(records(1, [{ k: 'a', id: '2' }]), heartbeat);
    const closing = lane.close();
    (await sink.started(1)).release();
    (await sink.started(2)).release();
    await closing;
    expect(sink.commits.map((c) => c.position.nextOffset)).toEqual(['1', '2']);
  });

  it('waits for the commit in flight once the pending transaction is full', async () => {
    const sink = new HeldSink();
    const lane = await openLane(sink);
    await lane.process(records(0, [{ k: 'a', id: '1' }]), heartbeat);
    const first = await sink.started(1);
    const many = Array.from({ length: 1500 }, (_, i) => ({ k: `k${i}`, id: `m${i}` }));
    let done = false;
    const big = lane.process(records(1, many), heartbeat).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    // maxRecords is 1000: the first 1000 are pending, the rest wait for the first commit.
    expect(done).toBe(false);
    first.release();
    (await sink.started(2)).release();
    await big;
    expect(sink.commits[1]!.position.nextOffset).toBe('1001');
    (await sink.started(3)).release();
    await lane.flush();
    expect(sink.commits[2]!.position.nextOffset).toBe('1501');
    await lane.close();
  });

  it('never commits a chunk whose processing threw part-way, nor what was pending with it, even on a flushing close', async () => {
    const sink = new HeldSink();
    const lane = await openLane(sink, explodingProcessor());
    await lane.process(records(0, [{ k: 'a', id: '1' }]), heartbeat);
    const first = await sink.started(1);
    await lane.process(records(1, [{ k: 'a', id: '2' }]), heartbeat);
    await expect(lane.process(records(2, [{ k: 'a', id: '3' }, { k: 'a', id: 'boom' }]), heartbeat)).rejects.toThrow('mid-chunk');
    const closing = lane.close({ flush: true });
    first.release();
    await closing;
    expect(sink.commits).toHaveLength(1);
    expect(lane.restartOffset).toBe('1');
  });

  it('counts the outputs of a pending transaction against the in-flight bound from the moment they exist', async () => {
    const sink = new HeldSink();
    const lane = await openLane(sink);
    let held = 0;
    const flow = { lagBeyond: 0, holdOutput: (b: number) => void (held += b), releaseOutput: (b: number) => void (held -= b) };
    await lane.process(records(0, [{ k: 'a', id: '1' }]), heartbeat, flow);
    const first = await sink.started(1);
    const afterFirst = held;
    expect(afterFirst).toBeGreaterThan(0);
    await lane.process(records(1, [{ k: 'b', id: '2' }]), heartbeat, flow);
    expect(held).toBeGreaterThan(afterFirst);
    first.release();
    (await sink.started(2)).release();
    await lane.flush();
    expect(held).toBe(0);
    await lane.close();
  });
});
