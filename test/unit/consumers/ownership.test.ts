// The ownership directory: its map of the owners topic, the follower that keeps it, and the
// announcements lanes make when they open, against fake Kafka ends.
import { describe, expect, it } from 'vitest';
import type { FollowDeliver, FollowRequest, RecordProducer, StreamClient, TopicFollower } from '../../../src/clients/port.ts';
import { OpenLanes } from '../../../src/consumers/open-lanes.ts';
import type { OpenLane } from '../../../src/consumers/open-lanes.ts';
import { announceOwnership, OwnerMap, OwnersFollower } from '../../../src/consumers/ownership.ts';
import { createLogger } from '../../../src/log.ts';
import type { OutRecord } from '../../../src/model/records.ts';

const entry = (key: string | null, value: unknown) => ({ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) });
const quiet = createLogger('error');
const fast = { firstMs: 5, maxMs: 20 };
const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('OwnerMap', () => {
  it('keeps the last announcement per partition, forgets a tombstoned one, and skips what is not an announcement', () => {
    const map = new OwnerMap();
    const skipped = map.apply([
      entry('in/0', { url: 'http://a:8080', at: 1 }),
      entry('in/1', { url: 'http://a:8080', at: 2 }),
      entry('in/0', { url: 'http://b:8080', at: 3 }),
      entry('app-w-partials/0', { url: 'http://a:8080', at: 4 }),
      entry('in/2', { url: 'http://a:8080', at: 5 }),
      entry('in/2', null),
      entry('in/1', 'not json'),
      entry('in/1', { url: 7, at: 8 }),
      entry(null, { url: 'http://c:8080', at: 9 }),
    ]);
    expect(skipped).toBe(3);
    expect(map.ownerOf('in', 0)).toEqual({ url: 'http://b:8080', at: 3 });
    expect(map.ownerOf('in', 1)).toEqual({ url: 'http://a:8080', at: 2 });
    expect(map.ownerOf('app-w-partials', 0)).toEqual({ url: 'http://a:8080', at: 4 });
    expect(map.ownerOf('in', 2)).toBeUndefined();
    expect(map.ownerOf('in', 3)).toBeUndefined();
    expect(map.size).toBe(3);
  });
});

/** A client whose followers the test drives: each `follow` call is recorded with its request. */
function fakeFollowClient() {
  const calls: { req: FollowRequest; deliver: FollowDeliver; fail: (err: Error) => void; stopped: boolean }[] = [];
  const client = {
    follow: async (req: FollowRequest, deliver: FollowDeliver): Promise<TopicFollower> => {
      let fail!: (err: Error) => void;
      const failed = new Promise<Error>((r) => (fail = r));
      const call = { req, deliver, fail, stopped: false };
      calls.push(call);
      return { failed, stop: async () => void (call.stopped = true) };
    },
  } as unknown as StreamClient;
  return { client, calls };
}

describe('OwnersFollower', () => {
  it('follows the owners topic from its start into the map, and after a failure from where it stopped', async () => {
    const { client, calls } = fakeFollowClient();
    const directory = new OwnersFollower({ topic: 'app-owners', self: 'http://a:8080', log: quiet, backoff: fast });
    expect(directory.self).toBe('http://a:8080');
    expect(directory.ownerOf('in', 0)).toBeUndefined();
    directory.follow(async () => client);
    await until(() => calls.length === 1, 'the first follower');
    expect(calls[0]!.req).toEqual({ topic: 'app-owners', from: new Map([[0, undefined]]) });
    calls[0]!.deliver(0, [entry('in/0', { url: 'http://a:8080', at: 1 }), entry('in/1', { url: 'http://b:8080', at: 1 })], 2n);
    expect(directory.ownerOf('in', 1)?.url).toBe('http://b:8080');

    calls[0]!.fail(new Error('broker gone'));
    await until(() => calls.length === 2, 'the follower started again');
    expect(calls[0]!.stopped).toBe(true);
    expect(calls[1]!.req.from).toEqual(new Map([[0, '2']]));
    // What it knew stays while it reads on.
    expect(directory.ownerOf('in', 0)?.url).toBe('http://a:8080');
    calls[1]!.deliver(0, [entry('in/0', { url: 'http://b:8080', at: 5 })], 3n);
    expect(directory.ownerOf('in', 0)).toEqual({ url: 'http://b:8080', at: 5 });

    await directory.close();
    expect(calls[1]!.stopped).toBe(true);
    calls[1]!.deliver(0, [entry('in/0', { url: 'http://c:8080', at: 6 })], 4n);
    expect(directory.ownerOf('in', 0)?.url).toBe('http://b:8080');
  });

  it('retries a client that cannot connect, and stops retrying once closed', async () => {
    const { client, calls } = fakeFollowClient();
    let attempts = 0;
    const directory = new OwnersFollower({ topic: 'app-owners', self: 'http://a:8080', log: quiet, backoff: fast });
    directory.follow(async () => {
      if (++attempts < 3) throw new Error('brokers unreachable');
      return client;
    });
    await until(() => calls.length === 1, 'a follower after two failed connects');
    expect(attempts).toBe(3);
    await directory.close();
    calls[0]!.fail(new Error('late'));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(1);
  });
});

/** A producer whose sends fail while `failing` says so; every record it acknowledged is in `sent`. */
function fakeProducers(failing: () => boolean) {
  const sent: OutRecord[] = [];
  let opened = 0;
  let closed = 0;
  const open = async (): Promise<RecordProducer> => {
    opened++;
    return {
      send: async (records) => {
        if (failing()) throw new Error('NOT_ENOUGH_REPLICAS');
        sent.push(...records);
      },
      close: async () => void closed++,
    };
  };
  return { open, sent, counts: () => ({ opened, closed }) };
}

const lane = (topic: string, partition: number): OpenLane => ({
  kind: 'source',
  topic,
  partition,
  state: { windowsWithPrefix: () => [], meta: () => ({ inputOffset: undefined, streamTime: 0 }), retainedWithPrefix: () => [] },
  lag: () => undefined,
});

describe('announceOwnership', () => {
  it('announces each lane that opens, keyed topic/partition, with the advertised URL and the time', async () => {
    const lanes = new OpenLanes();
    const producers = fakeProducers(() => false);
    const announcer = announceOwnership({ lanes, topic: 'app-owners', url: 'http://a:8080', openProducer: producers.open, log: quiet, backoff: fast });
    const before = Date.now();
    lanes.add(lane('in', 0));
    lanes.add(lane('app-w-partials', 3));
    await until(() => producers.sent.length === 2, 'two announcements');
    expect(producers.sent.map((r) => [r.topic, r.partition, r.key])).toEqual([
      ['app-owners', 0, 'in/0'],
      ['app-owners', 0, 'app-w-partials/3'],
    ]);
    const value = JSON.parse(String(producers.sent[0]!.value)) as { url: string; at: number };
    expect(value.url).toBe('http://a:8080');
    expect(value.at).toBeGreaterThanOrEqual(before);
    expect(value.at).toBeLessThanOrEqual(Date.now());
    await announcer.close();
    expect(producers.counts()).toEqual({ opened: 1, closed: 1 });
    lanes.add(lane('in', 1));
    await new Promise((r) => setTimeout(r, 20));
    expect(producers.sent).toHaveLength(2);
  });

  it('retries a failed send with a new producer until it lands, and gives up on a lane that closed meanwhile', async () => {
    const lanes = new OpenLanes();
    let failing = true;
    const producers = fakeProducers(() => failing);
    const warnings: string[] = [];
    const log = createLogger('warn', 'test', (line) => warnings.push(line));
    const announcer = announceOwnership({ lanes, topic: 'app-owners', url: 'http://a:8080', openProducer: producers.open, log, backoff: fast });
    const leave0 = lanes.add(lane('in', 0));
    lanes.add(lane('in', 1));
    await until(() => warnings.length >= 3, 'three failed attempts');
    // The first send took what was pending then; each retry takes all that is pending now.
    expect(warnings[0]).toMatch(/announcing ownership of in\/0 on app-owners failed \(NOT_ENOUGH_REPLICAS\); retrying in 5 ms/);
    expect(warnings[2]).toMatch(/announcing ownership of in\/0, in\/1 on app-owners failed .*; retrying in 20 ms/);
    leave0();
    failing = false;
    await until(() => producers.sent.length > 0, 'the announcement to land');
    expect(producers.sent.map((r) => r.key)).toEqual(['in/1']);
    // A producer that failed a send is closed, never reused.
    const { opened, closed } = producers.counts();
    expect(opened).toBeGreaterThanOrEqual(4);
    expect(closed).toBe(opened - 1);
    await announcer.close();
  });

  it('close ends a retry at once, and nothing is sent after it', async () => {
    const lanes = new OpenLanes();
    let failing = true;
    const producers = fakeProducers(() => failing);
    const announcer = announceOwnership({ lanes, topic: 'app-owners', url: 'http://a:8080', openProducer: producers.open, log: quiet, backoff: { firstMs: 60_000, maxMs: 60_000 } });
    lanes.add(lane('in', 0));
    await until(() => producers.counts().opened === 1, 'the first attempt');
    const started = Date.now();
    await announcer.close();
    expect(Date.now() - started).toBeLessThan(1000);
    failing = false;
    await new Promise((r) => setTimeout(r, 20));
    expect(producers.sent).toEqual([]);
  });

  it('announces every open lane again on each refresh, so a stale record names the wrong owner only until then', async () => {
    const lanes = new OpenLanes();
    const producers = fakeProducers(() => false);
    const announcer = announceOwnership({ lanes, topic: 'app-owners', url: 'http://a:8080', openProducer: producers.open, log: quiet, backoff: fast, refreshMs: 30 });
    lanes.add(lane('in', 0));
    const leave1 = lanes.add(lane('in', 1));
    await until(() => producers.sent.length >= 2, 'the first announcements');
    leave1();
    const after = producers.sent.length;
    await until(() => producers.sent.length >= after + 2, 'two refreshes');
    expect(producers.sent.slice(after).map((r) => r.key)).toEqual(['in/0', 'in/0']);
    await announcer.close();
  });
});
