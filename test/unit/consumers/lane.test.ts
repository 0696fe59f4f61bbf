// Lane.open against an in-memory changelog and group: which restore it picks, and that it never
// splices history onto local state that is stale or came from another changelog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lane } from '../../../src/consumers/lane.ts';
import type { LaneProcessor } from '../../../src/consumers/lane.ts';
import type { InputRecord } from '../../../src/model/records.ts';
import { BatchProcessor } from '../../../src/processors/batch-processor.ts';
import type { RestoreRequest } from '../../../src/clients/port.ts';
import { createLogger } from '../../../src/log.ts';
import { metricsObserver } from '../../../src/observability/lane-observer.ts';
import type { LaneObserver } from '../../../src/observability/lane-observer.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import type { PipelineSpec } from '../../../src/processors/types.ts';
import { metaRecord } from '../../../src/state/changelog-codec.ts';
import type { ChangelogRecord } from '../../../src/state/changelog-codec.ts';
import type { RestoreTarget } from '../../../src/model/changelog.ts';
import { PartitionStore } from '../../../src/state/partition-store.ts';

const spec: PipelineSpec = { keyField: 'k', idField: 'id', dedupeTtlMs: 1000, eventTimeField: undefined, maxRecordBytes: 1 << 20, windows: [] };

/** A changelog partition: offsets are array indexes; a compacted-away record is a hole (undefined). */
class FakeChangelog {
  log: (ChangelogRecord | undefined)[] = [];
  /** fail the restore after applying this many batches */
  failAfterBatches: number | undefined;
  /** a restore takes at least this long */
  slowMs = 0;

  append(records: ChangelogRecord[]): void {
    // Every transaction ends in a control record (one offset, never delivered).
    this.log.push(...records, undefined);
  }

  async restore(target: RestoreTarget, req: RestoreRequest): Promise<void> {
    let batches = 0;
    if (this.slowMs > 0) await new Promise((r) => setTimeout(r, this.slowMs));
    for (let at = Number(req.fromOffset ?? 0); at < Number(req.untilOffset); at += 2) {
      if (batches++ === this.failAfterBatches) throw new Error('restore interrupted');
      const next = Math.min(at + 2, Number(req.untilOffset));
      const batch = this.log.slice(at, next).filter((r) => r !== undefined);
      target.apply(
        batch.map((r) => ({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) })),
        BigInt(next),
      );
    }
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lane-'));
  dirs.push(dir);
  const changelog = new FakeChangelog();
  const group = { committed: undefined as string | undefined };
  const restoreRequests: RestoreRequest[] = [];
  const storePath = join(dir, 'partition-0.mdb');
  const lane = (tombstoneRetentionMs = 60_000, observer: LaneObserver = metricsObserver(createMetrics({ application: 'lane-test' }), '0', 'source')) =>
    new Lane({
      kind: 'source',
      partition: 0,
      spec,
      processor: { process: () => ({ consumed: 0, records: [], streamTime: 0, stats: { records: 0, duplicates: 0, late: 0, deadLetters: new Map(), finals: 0, updates: 0, partials: 0, forgotten: 0, dropped: 0 } }) },
      topics: { input: 'in', changelog: 'cl' },
      guarantee: 'exactly-once',
      storePath,
      lockWaitMs: 1000,
      batching: { maxRecords: 100, maxBytes: 1 << 20, targetLatencyMs: 50, maxIntervalMs: 1000 },
      tombstoneRetentionMs,
      sink: { open: async () => undefined, close: async () => undefined, commit: async () => undefined },
      restorer: {
        restore: (target, req) => {
          restoreRequests.push(req);
          return changelog.restore(target, req);
        },
      },
      changelogEnd: async () => String(changelog.log.length),
      committedOffset: async () => group.committed,
      observer,
      log: createLogger('error'),
    });
  const peek = async <T>(read: (s: PartitionStore) => T): Promise<T> => {
    const s = new PartitionStore(storePath, { windowCloseAt: () => 0, dedupeForgetAt: () => 0 });
    try {
      return read(s);
    } finally {
      await s.close();
    }
  };
  return { changelog, group, lane, peek, restoreRequests };
}

/** One committed transaction: a dedupe id and the meta record naming the input offset. */
const tx = (id: string, inputOffset: string, history: string, value: string | null = '1'): ChangelogRecord[] => [
  { key: `d|${id}`, value },
  metaRecord({ inputOffset, streamTime: 1, history }),
];

describe('Lane.open', () => {
  it("reports restore progress down to 0, then the open store's stats", async () => {
    const { changelog, group, lane } = setup();
    for (let i = 0; i < 4; i++) changelog.append(tx(`id${i}`, String(i + 1), 'h1'));
    group.committed = '4';
    const remaining: number[] = [];
    let stats: ReturnType<Parameters<LaneObserver['opened']>[0]['stats']> | undefined;
    const observer: LaneObserver = {
      ...metricsObserver(createMetrics({ application: 'lane-test' }), '0', 'source'),
      restoring: (n) => void remaining.push(n),
      opened: (view) => void (stats = view.stats()),
    };
    const l = lane(60_000, observer);
    await l.open(async () => undefined);
    await l.close();
    // 4 transactions of 3 offsets (2 records and a control record), read 2 offsets at a time
    expect(remaining).toEqual([12, 10, 8, 6, 4, 2, 0]);
    expect(stats?.stores.find((s) => s.store === 'dedupe')).toMatchObject({ entries: 4 });
    expect(stats?.fileBytes).toBeGreaterThan(0);
  });

  it('stamps a fully restored store, so it is not taken for fresh once the tombstones may be gone', async () => {
    const { changelog, group, lane, peek, restoreRequests } = setup();
    changelog.append(tx('a', '1', 'h1'));
    changelog.append(tx('b', '2', 'h1'));
    group.committed = '2';
    const first = lane(30);
    await first.open(async () => undefined);
    expect(first.restoreMode).toBe('full');
    await first.close(); // lost the partition before its first commit

    // Meanwhile another owner deleted `a`, and compaction dropped the value and, later, the tombstone.
    changelog.append(tx('a', '3', 'h1', null));
    changelog.log[0] = undefined;
    changelog.log[6] = undefined;
    group.committed = '3';
    await new Promise((r) => setTimeout(r, 50));

    const second = lane(30);
    await second.open(async () => undefined);
    expect(second.restoreMode).toBe('full');
    expect(restoreRequests.at(-1)?.fromOffset).toBeUndefined();
    await second.close();
    expect(await peek((s) => [s.getDedupe('a'), s.getDedupe('b')])).toEqual([undefined, 1]);
  });

  it('restores whole after a full restore was cut short, however recent', async () => {
    const { changelog, group, lane, peek } = setup();
    for (let i = 0; i < 4; i++) changelog.append(tx(`id${i}`, String(i + 1), 'h1'));
    group.committed = '4';
    changelog.failAfterBatches = 2;
    const cut = lane();
    await expect(cut.open(async () => undefined)).rejects.toThrow('restore interrupted');
    await cut.close(); // as the group consumer does with a lane whose open failed
    expect(await peek((s) => s.meta().changelogNext)).toBe('4');

    changelog.failAfterBatches = undefined;
    const again = lane();
    await again.open(async () => undefined);
    expect(again.restoreMode).toBe('full');
    await again.close();
  });

  it('replays the gap of a store in step with the same changelog', async () => {
    const { changelog, group, lane, restoreRequests } = setup();
    changelog.append(tx('a', '1', 'h1'));
    group.committed = '1';
    const first = lane();
    await first.open(async () => undefined);
    await first.close();
    changelog.append(tx('b', '2', 'h1'));
    group.committed = '2';
    const second = lane();
    await second.open(async () => undefined);
    expect(second.restoreMode).toBe('replay');
    expect(restoreRequests.at(-1)?.fromOffset).toBe('3');
    await second.close();
  });

  it('restores whole when a replay outlasts the tombstone retention', async () => {
    const { changelog, group, lane } = setup();
    changelog.append(tx('a', '1', 'h1'));
    group.committed = '1';
    const first = lane(400);
    await first.open(async () => undefined);
    await first.close();
    changelog.append(tx('b', '2', 'h1'));
    group.committed = '2';
    changelog.slowMs = 500; // fresh when the replay starts, stale when it ends
    const second = lane(400);
    await second.open(async () => undefined);
    expect(second.restoreMode).toBe('full');
    await second.close();
  });

  it('restores whole instead of splicing a recreated changelog onto local state', async () => {
    const { changelog, group, lane, peek } = setup();
    changelog.append(tx('old', '1', 'h1'));
    group.committed = '1';
    const first = lane();
    await first.open(async () => undefined);
    await first.close();

    // Application reset: the changelog is deleted and recreated, and a new history grows past
    // where the local store stood.
    changelog.log = [];
    changelog.append(tx('x', '5', 'h2'));
    changelog.append(tx('y', '6', 'h2'));
    group.committed = '6';
    const second = lane();
    await second.open(async () => undefined);
    expect(second.restoreMode).toBe('full');
    await second.close();
    expect(await peek((s) => [s.getDedupe('old'), s.getDedupe('x'), s.getDedupe('y'), s.meta().history])).toEqual([undefined, 1, 1, 'h2']);
  });

  it("restores whole when the store is ahead of the group's offset, then resumes where the changelog says", async () => {
    const { changelog, group, lane, restoreRequests } = setup();
    changelog.append(tx('a', '1', 'h1'));
    changelog.append(tx('b', '2', 'h1'));
    group.committed = '2';
    const first = lane();
    await first.open(async () => undefined);
    await first.close();

    group.committed = '1'; // the group's offsets were moved back under the store
    const ahead = lane();
    await ahead.open(async () => undefined);
    expect(ahead.restoreMode).toBe('full');
    expect(restoreRequests.at(-1)?.fromOffset).toBeUndefined();
    // The changelog is the record of what was counted: resuming before it would count it twice.
    expect(ahead.nextOffset).toBe(2n);
    await ahead.close();
  }, 10_000);

  it("reports corruption when even the whole changelog is behind the group's offset", async () => {
    const { changelog, group, lane } = setup();
    changelog.append(tx('a', '1', 'h1'));
    group.committed = '5'; // batches the group committed are missing from the changelog
    const behind = lane();
    await expect(behind.open(async () => undefined)).rejects.toMatchObject({ code: 'SLUICE_TASK_CORRUPTED' });
    await behind.close();
    // The lock went with the failed lane: the partition can open again in this process.
    group.committed = '1';
    const again = lane();
    await again.open(async () => undefined);
    await again.close();
  });
});

describe('Lane.closeIdle', () => {
  const idleSpec: PipelineSpec = {
    ...spec,
    eventTimeField: 't',
    windows: [{ name: 'w', groupBy: ['k'], kind: 'tumbling', sizeMs: 1000, advanceMs: 1000, graceMs: 0, emit: 'final', closeIdleAfterMs: 2000, aggregates: [{ name: 'n', fn: 'count', field: undefined }] }],
  };

  function idleLane(processor: LaneProcessor) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lane-idle-'));
    dirs.push(dir);
    const changelog = new FakeChangelog();
    const commits: { outputs: string[]; meta: string | null; position: string }[] = [];
    const lane = new Lane({
      kind: 'source',
      partition: 0,
      spec: idleSpec,
      processor,
      topics: { input: 'in', changelog: 'cl' },
      guarantee: 'exactly-once',
      storePath: join(dir, 'partition-0.mdb'),
      lockWaitMs: 1000,
      batching: { maxRecords: 100, maxBytes: 1 << 20, targetLatencyMs: 50, maxIntervalMs: 1000 },
      tombstoneRetentionMs: 60_000,
      sink: {
        open: async () => undefined,
        close: async () => undefined,
        commit: async (outputs, records, position) => {
          commits.push({ outputs: outputs.map((o) => String(o.value)), meta: String(records.at(-1)!.value), position: position.nextOffset });
          changelog.append(records.map((r) => ({ key: String(r.key), value: r.value === null ? null : String(r.value) })));
          return String(changelog.log.length);
        },
      },
      restorer: { restore: (target, req) => changelog.restore(target, req) },
      changelogEnd: async () => String(changelog.log.length),
      committedOffset: async () => undefined,
      observer: metricsObserver(createMetrics({ application: 'lane-test' }), '0', 'source'),
      log: createLogger('error'),
    });
    return { lane, commits };
  }

  const record = (offset: number, k: string, t: number): InputRecord => ({ offset: String(offset), key: Buffer.from(k), value: Buffer.from(JSON.stringify({ id: `e${offset}`, k, t })), timestamp: '0' });

  it('commits the due finals at the input offset and stream time the last batch left, then nothing while nothing is due', async () => {
    const { lane, commits } = idleLane(new BatchProcessor(idleSpec, { input: 'in', output: 'out', deadLetter: 'dlq' }, 0));
    await lane.open(async () => undefined);
    try {
      await lane.process([record(0, 'a', 1500), record(1, 'b', 1700)], async () => undefined);
      expect(commits).toHaveLength(1);
      const now = Date.now();
      expect(lane.idleAt(now)).toBe(false);
      expect(lane.idleAt(now + 2000)).toBe(true);
      await lane.closeIdle(now + 2000);
      expect(commits).toHaveLength(2);
      expect(commits[1]!.position).toBe('2');
      expect(commits[1]!.outputs).toEqual([
        '{"window":"w","group":{"k":"a"},"start":1000,"end":2000,"final":true,"values":{"n":1},"closedBy":"idle"}',
        '{"window":"w","group":{"k":"b"},"start":1000,"end":2000,"final":true,"values":{"n":1},"closedBy":"idle"}',
      ]);
      expect(JSON.parse(commits[1]!.meta!)).toMatchObject({ inputOffset: '2', streamTime: 1700 });
      await lane.closeIdle(now + 4000);
      expect(commits).toHaveLength(2);
      expect(lane.nextOffset).toBe(2n);
    } finally {
      await lane.close();
    }
  });

  it('is not idle right after its idle clock restarts (a rebalance, a pause)', async () => {
    const { lane } = idleLane(new BatchProcessor(idleSpec, { input: 'in', output: 'out', deadLetter: 'dlq' }, 0));
    await lane.open(async () => undefined);
    try {
      await lane.process([record(0, 'a', 1500)], async () => undefined);
      expect(lane.idleAt(Date.now() + 10_000)).toBe(true);
      lane.restartIdleClock();
      expect(lane.idleAt(Date.now() + 1000)).toBe(false);
    } finally {
      await lane.close();
    }
  });

  it('a lane whose processor has no idle close (a merge lane) is never idle', async () => {
    const { lane } = idleLane({ process: () => ({ consumed: 0, records: [], streamTime: 0, stats: { records: 0, duplicates: 0, late: 0, deadLetters: new Map(), finals: 0, updates: 0, partials: 0, forgotten: 0, dropped: 0 } }) });
    await lane.open(async () => undefined);
    expect(lane.idleAt(Date.now() + 1e9)).toBe(false);
    await lane.close();
  });
});
