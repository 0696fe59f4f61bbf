// GroupConsumer against a fake StreamClient: lane lifecycle on assignment, which no broker test
// can provoke on demand (a lane whose eager open fails while its partition has no traffic), and a
// batch that waits for its lane's open (test/integration/restore-heartbeat.test.ts on a broker).
import { describe, expect, it } from 'vitest';
import { GroupConsumer } from '../../../src/consumers/group-consumer.ts';
import type { Lane } from '../../../src/consumers/lane.ts';
import type { FetchedBatch, GroupHandlers, GroupMembership, StreamClient, TopicPartition } from '../../../src/clients/port.ts';
import { TaskCorruptedError, TaskMigratedError, sluiceError } from '../../../src/errors.ts';
import type { SluiceError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/log.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';

class FakeGroup implements GroupMembership {
  handlers: GroupHandlers | undefined;
  async start(handlers: GroupHandlers): Promise<void> {
    this.handlers = handlers;
  }
  assign(parts: TopicPartition[]): void {
    this.handlers!.onAssigned(parts);
  }
  pause(): void {}
  resume(): void {}
  async commitOffset(): Promise<void> {}
  async stop(): Promise<void> {}
}

interface FakeLaneBehaviour {
  /** what a lane's process does; by default it handles the batch */
  process?: (messages: FetchedBatch['messages']) => Promise<string | undefined>;
  onFatal?: (error: SluiceError) => void;
  /** idle close: the consumer's closeIdleAfterMs, and what a lane's idle close does */
  idle?: { afterMs: number; close: (partition: number) => Promise<void> };
}

function consumerWith(opens: (partition: number) => Promise<void>, behaviour: FakeLaneBehaviour = {}) {
  const group = new FakeGroup();
  const closed: number[] = [];
  const created: number[] = [];
  const idled: number[] = [];
  const client = { name: 'kafkajs', group: () => group } as unknown as StreamClient;
  const consumer = new GroupConsumer({
    client,
    groupId: 'g',
    topics: new Map([['in', 2]]),
    maxBytesPerPartition: 1024,
    backpressure: { maxInFlightBytes: 1 << 20, resumeBelowBytes: 1 << 19 },
    sessionTimeoutMs: 6000,
    createLane: (_topic, partition) => {
      created.push(partition);
      return {
        partition,
        open: () => opens(partition),
        process: behaviour.process ?? (async (messages: FetchedBatch['messages']) => messages[messages.length - 1]!.offset),
        close: async () => void closed.push(partition),
        idleAt: () => true,
        restartIdleClock: () => undefined,
        closeIdle: () => {
          idled.push(partition);
          return behaviour.idle?.close(partition) ?? Promise.resolve();
        },
        summary: () => `partition ${partition}`,
      } as unknown as Lane;
    },
    metrics: createMetrics({ application: 'test' }),
    log: createLogger('error', 'sluice', () => undefined),
    onFatal: behaviour.onFatal,
    closeIdleAfterMs: behaviour.idle?.afterMs,
  });
  return { consumer, group, closed, created, idled };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const batchFor = (partition: number, offset: string): FetchedBatch => ({ topic: 'in', partition, lagBeyond: 0, messages: [{ offset, key: null, value: Buffer.from('{}'), timestamp: '0' }] });

describe('GroupConsumer', () => {
  it('reports progress for /readyz: not joined, then each partition restoring until its lane is open, then its lag', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { consumer, group } = consumerWith((partition) => (partition === 1 ? held : Promise.resolve()));
    await consumer.start();
    expect(consumer.progress()).toEqual({ joined: false, partitions: [] });
    group.assign([{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }]);
    await sleep(10);
    expect(consumer.progress()).toEqual({ joined: true, partitions: [{ partition: 'in/0', open: true, lag: undefined }, { partition: 'in/1', open: false, lag: undefined }] });
    await group.handlers!.onBatch({ ...batchFor(0, '5'), lagBeyond: 42 }, async () => undefined);
    release();
    await sleep(10);
    expect(consumer.progress().partitions).toEqual([{ partition: 'in/0', open: true, lag: 42 }, { partition: 'in/1', open: true, lag: undefined }]);
    group.assign([{ topic: 'in', partition: 1 }]);
    expect(consumer.progress().partitions).toEqual([{ partition: 'in/1', open: true, lag: undefined }]);
  });

  it('opens every assigned lane before any batch arrives', async () => {
    const { consumer, group } = consumerWith(async () => undefined);
    await consumer.start();
    group.assign([{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }]);
    await sleep(10);
    expect(consumer.openLanes().sort()).toEqual(['in/0', 'in/1']);
  });

  it('retries an eager open that failed, without waiting for traffic', async () => {
    let attempts = 0;
    const { consumer, group } = consumerWith(async () => {
      if (++attempts === 1) throw new Error('changelog has no leader yet');
    });
    await consumer.start();
    group.assign([{ topic: 'in', partition: 0 }]);
    await sleep(50);
    expect(consumer.openLanes()).toEqual([]);
    await sleep(1200);
    expect(attempts).toBe(2);
    expect(consumer.openLanes()).toEqual(['in/0']);
  });

  it('stops retrying once the partition is revoked, and closes revoked lanes', async () => {
    let attempts = 0;
    const { consumer, group, closed } = consumerWith(async (partition) => {
      if (partition === 0) {
        attempts++;
        throw new Error('no leader');
      }
    });
    await consumer.start();
    group.assign([{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }]);
    await sleep(50);
    group.assign([]);
    await sleep(1200);
    expect(attempts).toBe(1);
    expect(consumer.openLanes()).toEqual([]);
    // 0 was closed by its failed open, 1 by the revocation.
    expect(closed.sort()).toEqual([0, 1]);
  });

  // kafkajs heartbeats only from its fetch loop, which a batch in hand holds: a restore longer
  // than the session timeout would get the member evicted.
  it('heartbeats while a batch waits for its lane to open, then processes it', async () => {
    let opened!: () => void;
    const { consumer, group } = consumerWith(() => new Promise<void>((r) => (opened = r)));
    await consumer.start();
    group.assign([{ topic: 'in', partition: 0 }]);
    let beats = 0;
    const done = group.handlers!.onBatch(batchFor(0, '7'), async () => void beats++);
    await sleep(3000);
    expect(beats).toBeGreaterThanOrEqual(2);
    opened();
    await expect(done).resolves.toBe('7');
  });

  it('hands the batch back when a heartbeat fails (rebalance), and the open carries on', async () => {
    let opened!: () => void;
    const { consumer, group } = consumerWith(() => new Promise<void>((r) => (opened = r)));
    await consumer.start();
    group.assign([{ topic: 'in', partition: 0 }]);
    const handed = await group.handlers!.onBatch(batchFor(0, '7'), () => Promise.reject(new Error('The group is rebalancing, so a rejoin is needed')));
    expect(handed).toBeUndefined();
    expect(consumer.openLanes()).toEqual([]);
    opened();
    await sleep(10);
    expect(consumer.openLanes()).toEqual(['in/0']);
    await expect(group.handlers!.onBatch(batchFor(0, '7'), async () => undefined)).resolves.toBe('7');
  });

  describe('dispatches a lane failure on its class and canRetry', () => {
    const failingWith = (err: unknown) => {
      const fatal: SluiceError[] = [];
      const made = consumerWith(async () => undefined, { process: () => Promise.reject(err), onFatal: (e) => void fatal.push(e) });
      return { ...made, fatal };
    };

    it('fenced (TaskMigratedError): closes the lane and waits for the rebalance before reopening', async () => {
      const { consumer, group, closed, created, fatal } = failingWith(new TaskMigratedError(0));
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(10);
      await expect(group.handlers!.onBatch(batchFor(0, '7'), async () => undefined)).resolves.toBeUndefined();
      expect(closed).toEqual([0]);
      await expect(group.handlers!.onBatch(batchFor(0, '7'), async () => undefined)).resolves.toBeUndefined();
      expect(created).toEqual([0]);
      expect(fatal).toEqual([]);
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(10);
      expect(created).toEqual([0, 0]);
    });

    it('corrupted state (TaskCorruptedError): a fresh lane opens, and restores, at once', async () => {
      const { consumer, group, closed, created, fatal } = failingWith(new TaskCorruptedError(0));
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(10);
      await group.handlers!.onBatch(batchFor(0, '7'), async () => undefined);
      expect(closed).toEqual([0]);
      await group.handlers!.onBatch(batchFor(0, '7'), async () => undefined);
      expect(created).toEqual([0, 0]);
      expect(fatal).toEqual([]);
    });

    it('a SluiceError that cannot be retried stops the pipeline through onFatal', async () => {
      const bug = sluiceError('SLUICE_INTERNAL', 'sink committed before open()');
      const { consumer, group, closed, fatal } = failingWith(bug);
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(10);
      await expect(group.handlers!.onBatch(batchFor(0, '7'), async () => undefined)).resolves.toBeUndefined();
      expect(fatal).toEqual([bug]);
      expect(closed).toEqual([0]);
    });

    it('an open that fails with a SluiceError that cannot be retried is not retried', async () => {
      let attempts = 0;
      const fatal: SluiceError[] = [];
      const { consumer, group } = consumerWith(
        async () => {
          attempts++;
          throw sluiceError('SLUICE_KAFKA', 'not authorized', { canRetry: false });
        },
        { onFatal: (e) => void fatal.push(e) },
      );
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(1200);
      expect(attempts).toBe(1);
      expect(fatal.map((e) => e.code)).toEqual(['SLUICE_KAFKA']);
    });

    it('anything else (a retriable SluiceError, a foreign error): a fresh lane retries the batch', async () => {
      for (const err of [sluiceError('SLUICE_KAFKA', 'request timed out'), new Error('lmdb: map full')]) {
        const { consumer, group, closed, created, fatal } = failingWith(err);
        await consumer.start();
        group.assign([{ topic: 'in', partition: 0 }]);
        await sleep(10);
        await group.handlers!.onBatch(batchFor(0, '7'), async () => undefined);
        await group.handlers!.onBatch(batchFor(0, '7'), async () => undefined);
        expect(closed).toEqual([0, 0]);
        expect(created).toEqual([0, 0]);
        expect(fatal).toEqual([]);
      }
    });
  });

  describe('idle close', () => {
    it('offers every open lane an idle close on a timer, none without closeIdleAfter', async () => {
      const { consumer, group, idled } = consumerWith(async () => undefined, { idle: { afterMs: 1000, close: async () => undefined } });
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }]);
      await sleep(600);
      expect(idled.filter((p) => p === 0).length).toBeGreaterThanOrEqual(1);
      expect(idled.filter((p) => p === 1).length).toBeGreaterThanOrEqual(1);
      await consumer.stop();
      const after = idled.length;
      await sleep(400);
      expect(idled.length).toBe(after);

      const plain = consumerWith(async () => undefined);
      await plain.consumer.start();
      plain.group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(1200);
      expect(plain.consumer.openLanes()).toEqual(['in/0']);
      expect(plain.idled).toEqual([]);
      await plain.consumer.stop();
    });

    it('never runs beside a batch of the same lane: a batch waits for the idle close, and no idle close starts during a batch', async () => {
      const events: string[] = [];
      let finishIdle!: () => void;
      let idleCalls = 0;
      let batchRunning = false;
      const { consumer, group } = consumerWith(async () => undefined, {
        idle: {
          afterMs: 1000,
          close: (p) => {
            if (p !== 0) return Promise.resolve();
            idleCalls++;
            if (batchRunning) events.push('idle during batch');
            if (idleCalls > 1) return Promise.resolve();
            events.push('idle start');
            return new Promise<void>((r) => (finishIdle = () => (events.push('idle end'), r())));
          },
        },
        process: async (messages) => {
          batchRunning = true;
          events.push('batch start');
          await sleep(700);
          events.push('batch end');
          batchRunning = false;
          return messages[messages.length - 1]!.offset;
        },
      });
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(300);
      expect(events).toEqual(['idle start']);
      const batch = group.handlers!.onBatch(batchFor(0, '7'), async () => undefined);
      await sleep(100);
      expect(events).toEqual(['idle start']);
      finishIdle();
      await expect(batch).resolves.toBe('7');
      expect(events.slice(0, 4)).toEqual(['idle start', 'idle end', 'batch start', 'batch end']);
      expect(events).not.toContain('idle during batch');
      await consumer.stop();
    });

    it('a failed idle close closes the lane, and the next batch opens a fresh one', async () => {
      const { consumer, group, closed, created } = consumerWith(async () => undefined, { idle: { afterMs: 1000, close: () => Promise.reject(new Error('broker gone')) } });
      await consumer.start();
      group.assign([{ topic: 'in', partition: 0 }]);
      await sleep(400);
      expect(closed).toContain(0);
      await expect(group.handlers!.onBatch(batchFor(0, '7'), async () => undefined)).resolves.toBe('7');
      expect(created.length).toBeGreaterThanOrEqual(2);
      await consumer.stop();
    });
  });
});
