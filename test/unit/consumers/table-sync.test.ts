import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FollowDeliver, FollowRequest, StreamClient, TopicFollower } from '../../../src/clients/port.ts';
import { TableSync } from '../../../src/consumers/table-sync.ts';
import { createLogger } from '../../../src/log.ts';
import { TableStore } from '../../../src/state/table-store.ts';

const log = createLogger('error');
let dir: string;
const closing: (() => Promise<void>)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-table-sync-'));
});
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const row = (key: string, tier: string) => ({ key: Buffer.from(key), value: Buffer.from(JSON.stringify({ tier })) });

/** A topic of one partition: records by offset, a log start and end, and followers that read it on demand. */
class FakeTopic {
  records: ReturnType<typeof row>[] = [];
  logStart = 0n;
  retentionMs: string | undefined;
  follows: FollowRequest[] = [];
  followers: { deliver: FollowDeliver; stopped: boolean; fail: (e: Error) => void; from: bigint }[] = [];
  /** set to hold the next follow() until released */
  gate: Promise<void> | undefined;

  get end(): bigint {
    return BigInt(this.records.length);
  }

  client(): StreamClient {
    return {
      topics: { topicConfig: async () => this.retentionMs },
      logStartOffset: async () => this.logStart.toString(),
      highWatermark: async () => this.end.toString(),
      follow: async (req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower> => {
        this.follows.push(req);
        await this.gate;
        let fail!: (e: Error) => void;
        const failed = new Promise<Error>((r) => (fail = r));
        const f = { deliver, stopped: false, fail, from: BigInt(req.from.get(0) ?? this.logStart) };
        this.followers.push(f);
        return { failed, stop: async () => void (f.stopped = true) };
      },
    } as unknown as StreamClient;
  }

  /** The newest follower reads everything from its position, in one batch. */
  pump(): void {
    const f = this.followers.at(-1)!;
    if (f.stopped || f.from >= this.end) return;
    f.deliver(0, this.records.slice(Number(f.from)), this.end);
    f.from = this.end;
  }
}

async function openStore(): Promise<TableStore> {
  const store = await TableStore.open({ path: join(dir, 'players.mdb'), fields: ['tier'], keyField: undefined, signature: 's', lockWaitMs: 100 });
  closing.push(() => store.close());
  return store;
}

async function start(topic: FakeTopic, store: TableStore, extra: { stallTimeoutMs?: number } = {}): Promise<TableSync> {
  const pumping = setInterval(() => topic.pump(), 5);
  try {
    const sync = await TableSync.start({ name: 'players', topic: 'players', partitions: [0], store, client: topic.client(), log, ...extra });
    closing.push(() => sync.stop());
    return sync;
  } finally {
    clearInterval(pumping);
  }
}

describe('TableSync', () => {
  it('loads to the end, then goes on from the stored position after a restart', async () => {
    const topic = new FakeTopic();
    topic.records.push(row('p1', 'gold'), row('p2', 'silver'));
    const store = await openStore();
    await (await start(topic, store)).stop();
    expect(store.get('p2')).toEqual(['silver']);
    topic.records.push(row('p2', 'bronze'));
    await start(topic, store);
    expect(topic.follows.at(-1)!.from.get(0)).toBe('2');
    expect(store.get('p2')).toEqual(['bronze']);
  });

  it('reads the table again, once, when retention deleted records past its stored position', async () => {
    const topic = new FakeTopic();
    topic.records.push(row('p1', 'gold'), row('gone', 'x'));
    const store = await openStore();
    await (await start(topic, store)).stop();
    topic.records.push(row('deleted-by-retention', 'x'), row('p3', 'bronze'));
    topic.logStart = 3n;
    await start(topic, store);
    expect(topic.follows.at(-1)!.from.get(0)).toBe('3');
    expect(store.get('gone')).toBeUndefined();
    expect(store.get('p3')).toEqual(['bronze']);
  });

  it('reads the table again when the topic ends before its stored position (recreated)', async () => {
    const topic = new FakeTopic();
    topic.records.push(row('old', 'x'), row('old2', 'x'), row('old3', 'x'));
    const store = await openStore();
    await (await start(topic, store)).stop();
    topic.records = [row('new', 'gold')];
    await start(topic, store);
    expect(store.get('old')).toBeUndefined();
    expect(store.get('new')).toEqual(['gold']);
  });

  it('reads the table again when its rows are older than delete.retention.ms (tombstones may be gone)', async () => {
    const topic = new FakeTopic();
    topic.records.push(row('deleted-while-away', 'x'));
    const store = await openStore();
    await (await start(topic, store)).stop();
    topic.retentionMs = '-1';
    topic.records = [row('kept', 'gold')];
    topic.records.unshift(row('pad', 'x'));
    await start(topic, store);
    expect(store.get('deleted-while-away')).toBeUndefined();
    expect(store.get('kept')).toEqual(['gold']);
  });

  it('fails a load that makes no progress with a retryable error', async () => {
    const topic = new FakeTopic();
    topic.records.push(row('p1', 'gold'));
    const store = await openStore();
    const err = await TableSync.start({ name: 'players', topic: 'players', partitions: [0], store, client: topic.client(), log, stallTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLUICE_KAFKA', canRetry: true });
    expect((err as Error).message).toMatch(/no progress for 0 s/);
    expect(topic.followers.every((f) => f.stopped)).toBe(true);
  });

  it('never leaves a follower running after stop, even one that was starting again', async () => {
    const topic = new FakeTopic();
    const store = await openStore();
    const sync = await start(topic, store);
    let release!: () => void;
    topic.gate = new Promise((r) => (release = r));
    topic.followers[0]!.fail(new Error('broker went away'));
    // The restart waits 2 s, then asks for a new follower, which the gate holds.
    await new Promise((r) => setTimeout(r, 2300));
    expect(topic.follows).toHaveLength(2);
    await sync.stop();
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(topic.followers.every((f) => f.stopped)).toBe(true);
  });
});
