// The application's consumer group. kafkajs fetches; each partition's batches go to that
// partition's lane, and lanes run concurrently (one event loop, no shared state between them).
// kafkajs has no awaited revoke hook, so correctness never depends on hearing about a revocation
// in time: a lane that lost its partition is fenced at its next commit and closes itself.
import type { Consumer, Kafka } from 'kafkajs';
import { TaskMigratedError, isSluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PipelineMetrics } from '../metrics.ts';
import type { Lane } from './lane.ts';

export interface GroupConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  partitions: number;
  guarantee: 'exactly-once' | 'at-least-once';
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  createLane: (partition: number, consumer: Consumer) => Lane;
  metrics: PipelineMetrics;
  log: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class GroupConsumer {
  private readonly opts: GroupConsumerOptions;
  readonly consumer: Consumer;
  private readonly lanes = new Map<number, Lane>();
  private readonly opening = new Map<number, Promise<Lane>>();
  /** the batch each lane is processing, so a revoked lane is closed only once it is idle */
  private readonly inflight = new Map<number, Promise<unknown>>();
  /**
   * Partitions whose producer was fenced, with the join count and time: wait for the group to
   * rebalance before reopening (reopening at once would fence the new owner back), but not for
   * longer than a session timeout, in case no rebalance ever comes.
   */
  private readonly fenced = new Map<number, { join: number; at: number }>();
  private joins = 0;
  /** this member's partitions as of the last join */
  private assigned = new Set<number>();
  private stopping = false;

  constructor(opts: GroupConsumerOptions) {
    this.opts = opts;
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      readUncommitted: false,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxWaitTimeInMs: 100,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      rebalanceTimeout: 60_000,
      allowAutoTopicCreation: false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.joins++;
      this.fenced.clear();
      const assigned = new Set(e.payload.memberAssignment[opts.topic] ?? []);
      this.assigned = assigned;
      opts.log.info(`joined group ${opts.groupId} (join #${this.joins}): partitions [${[...assigned].sort((a, b) => a - b).join(',')}]`);
      for (const p of [...this.lanes.keys()]) if (!assigned.has(p)) void this.closeLane(p, 'revoked');
      // Open (fence, restore) right away rather than on the first batch, so a quiet partition's
      // state is ready when its traffic comes back. kafkajs keeps heartbeating meanwhile, since
      // this runs beside its fetch loop, not inside a batch.
      for (const p of assigned) {
        if (!this.lanes.has(p)) this.laneFor(p, async () => undefined).catch((err: unknown) => this.onLaneError(p, err, 'open'));
      }
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      opts.log.error(`consumer crashed: ${e.payload.error.message}${e.payload.restart ? ' (restarting)' : ''}`);
    });
  }

  async start(): Promise<void> {
    const { consumer, opts } = this;
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitions,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || this.stopping) return;
        const p = batch.partition;
        const fencedAt = this.fenced.get(p);
        if (fencedAt !== undefined && fencedAt.join === this.joins && Date.now() - fencedAt.at < opts.sessionTimeoutMs) {
          await heartbeat().catch(() => undefined);
          await sleep(500);
          return;
        }
        let lane: Lane;
        try {
          lane = await this.laneFor(p, heartbeat);
        } catch (err) {
          this.onLaneError(p, err, 'open');
          await sleep(1000);
          return;
        }
        const work = lane.process(batch.messages, heartbeat);
        this.inflight.set(p, work);
        try {
          const last = await work;
          if (last !== undefined) resolveOffset(last);
        } catch (err) {
          this.onLaneError(p, err, 'process');
          this.inflight.delete(p);
          await this.closeLane(p, 'failed');
        } finally {
          this.inflight.delete(p);
        }
      },
    });
  }

  private laneFor(p: number, heartbeat: () => Promise<void>): Promise<Lane> {
    const open = this.lanes.get(p);
    if (open) return Promise.resolve(open);
    let pending = this.opening.get(p);
    if (!pending) {
      const lane = this.opts.createLane(p, this.consumer);
      pending = lane
        .open(heartbeat)
        .then(async () => {
          this.lanes.set(p, lane);
          this.opts.metrics.lanes.set(this.lanes.size);
          // Revoked while it was opening: the GROUP_JOIN handler could not see it yet.
          if (!this.assigned.has(p)) await this.closeLane(p, 'revoked while opening');
          return lane;
        })
        .catch(async (err: unknown) => {
          await lane.close().catch(() => undefined);
          throw err;
        })
        .finally(() => this.opening.delete(p));
      this.opening.set(p, pending);
    }
    return pending;
  }

  private onLaneError(p: number, err: unknown, phase: string): void {
    const code = isSluiceError(err) ? err.code : 'SLUICE_INTERNAL';
    this.opts.metrics.aborts.inc({ partition: p, code });
    if (err instanceof TaskMigratedError) {
      this.fenced.set(p, { join: this.joins, at: Date.now() });
      this.opts.log.warn(`partition ${p}: ${err.message}`);
    } else {
      this.opts.log.warn(`partition ${p}: ${phase} failed, batch aborted and will be retried by a fresh lane: ${(err as Error).message}`);
      if (!isSluiceError(err)) this.opts.log.debug((err as Error).stack ?? '');
    }
  }

  private async closeLane(p: number, why: string): Promise<void> {
    const lane = this.lanes.get(p);
    if (!lane) return;
    this.lanes.delete(p);
    this.opts.metrics.lanes.set(this.lanes.size);
    await this.inflight.get(p)?.catch(() => undefined);
    this.opts.log.info(`${lane.summary()} (closed: ${why})`);
    await lane.close().catch((err: Error) => this.opts.log.warn(`partition ${p}: close failed: ${err.message}`));
  }

  /** Finishes the batch in flight, commits it, leaves the group, then closes every lane. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
    await Promise.allSettled([...this.opening.values()]);
    for (const p of [...this.lanes.keys()]) await this.closeLane(p, 'shutdown');
  }

  openLanes(): number[] {
    return [...this.lanes.keys()];
  }
}
