// The application's consumer group. It subscribes to the input topic and to the partials topic
// of every cross-partition window; each topic-partition's batches go to its own lane (a source
// lane or a merge lane), and lanes run concurrently (one event loop, nothing shared between them).
// Neither client has an awaited revoke hook, so correctness never depends on hearing about a
// revocation in time: a lane that lost its partition is fenced at its next commit and closes itself.
import { isSluiceError, recoveryFor } from '../errors.ts';
import type { Recovery, SluiceError } from '../errors.ts';
import type { FetchedBatch, GroupMembership, StreamClient, TopicPartition } from '../clients/port.ts';
import type { Logger } from '../log.ts';
import type { PipelineMetrics } from '../observability/metrics.ts';
import { publishLaneError } from '../observability/tracing.ts';
import { InFlightLimiter } from './in-flight.ts';
import type { InFlightBounds } from './in-flight.ts';
import type { Lane } from './lane.ts';

export interface GroupConsumerOptions {
  client: StreamClient;
  groupId: string;
  /** topic -> partition count */
  topics: ReadonlyMap<string, number>;
  maxBytesPerPartition: number;
  backpressure: InFlightBounds;
  sessionTimeoutMs: number;
  createLane: (topic: string, partition: number, group: GroupMembership) => Lane;
  metrics: PipelineMetrics;
  log: Logger;
  /** the shortest closeIdleAfter of the windows: lanes are offered idle closes at a quarter of it (at most every second); none when undefined */
  closeIdleAfterMs?: number | undefined;
  /** the group cannot make progress (GroupHandlers.onFatal), or a lane failed with an error that cannot be retried: the pipeline must stop */
  onFatal?: (error: SluiceError) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** well inside the smallest session timeout the config allows (6 s) */
const OPEN_WAIT_HEARTBEAT_MS = 1000;

/** Lanes are keyed by topic and partition. */
type LaneId = string;
const laneId = (topic: string, partition: number): LaneId => `${topic}/${partition}`;

function topicPartitions(ids: readonly LaneId[]): TopicPartition[] {
  return ids.map((id) => {
    const cut = id.lastIndexOf('/');
    return { topic: id.slice(0, cut), partition: Number(id.slice(cut + 1)) };
  });
}

function batchBytes(messages: readonly { key: Buffer | null; value: Buffer | null }[]): number {
  let n = 0;
  for (const m of messages) n += (m.key?.length ?? 0) + (m.value?.length ?? 0);
  return n;
}

export class GroupConsumer {
  private readonly opts: GroupConsumerOptions;
  readonly group: GroupMembership;
  private readonly lanes = new Map<LaneId, Lane>();
  private readonly opening = new Map<LaneId, Promise<Lane>>();
  /** the batch each lane is processing, so a revoked lane is closed only once it is idle */
  private readonly inflight = new Map<LaneId, Promise<unknown>>();
  /**
   * Lanes whose producer was fenced, with the join count and time: wait for the group to
   * rebalance before reopening (reopening at once would fence the new owner back), but not for
   * longer than a session timeout, in case no rebalance ever comes.
   */
  private readonly fenced = new Map<LaneId, { join: number; at: number }>();
  private joins = 0;
  /** this member's topic-partitions as of the last join */
  private assigned = new Set<LaneId>();
  /** the assignment's partitions by lane id, to open one again without a batch */
  private assignedPartitions = new Map<LaneId, TopicPartition>();
  private stopping = false;
  /** each lane's records beyond its last fetched batch, for readiness */
  private readonly lag = new Map<LaneId, number>();
  private readonly inFlight: InFlightLimiter<LaneId>;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(opts: GroupConsumerOptions) {
    this.opts = opts;
    this.inFlight = new InFlightLimiter<LaneId>(opts.backpressure, {
      pause: (ids) => {
        // Paused first: reporting it must never be what keeps intake going.
        this.group.pause(topicPartitions(ids));
        opts.metrics.pauses.inc(ids.length);
        for (const id of ids) this.lanes.get(id)?.intakePaused(true);
        opts.log.debug(`backpressure: pausing ${ids.join(', ')} (${this.inFlight.total} bytes in flight)`);
      },
      resume: (ids) => {
        opts.metrics.resumes.inc(ids.length);
        for (const id of ids) this.lanes.get(id)?.intakePaused(false);
        opts.log.debug(`backpressure: resuming ${ids.join(', ')} (${this.inFlight.total} bytes in flight)`);
        this.group.resume(topicPartitions(ids));
      },
    });
    this.group = opts.client.group({ groupId: opts.groupId, topics: [...opts.topics.keys()], maxBytesPerPartition: opts.maxBytesPerPartition, sessionTimeoutMs: opts.sessionTimeoutMs });
  }

  start(): Promise<void> {
    const idleMs = this.opts.closeIdleAfterMs;
    if (idleMs !== undefined) this.idleTimer = setInterval(() => this.closeIdleLanes(), Math.min(1000, idleMs / 4)).unref();
    return this.group.start({ onAssigned: (assigned) => this.onAssigned(assigned), onBatch: (batch, heartbeat) => this.onBatch(batch, heartbeat), onFatal: (error) => this.opts.onFatal?.(error) });
  }

  private onAssigned(parts: readonly TopicPartition[]): void {
    const { opts } = this;
    this.joins++;
    this.fenced.clear();
    const assigned = new Map<LaneId, TopicPartition>(parts.map((tp) => [laneId(tp.topic, tp.partition), tp]));
    this.assigned = new Set(assigned.keys());
    for (const id of this.lag.keys()) if (!assigned.has(id)) this.lag.delete(id);
    this.assignedPartitions = assigned;
    // A kept lane's input may have waited on the broker through the rebalance.
    for (const lane of this.lanes.values()) lane.restartIdleClock();
    opts.log.info(`joined group ${opts.groupId} (join #${this.joins}): ${[...assigned.keys()].sort().join(', ') || 'nothing assigned'}`);
    for (const id of [...this.lanes.keys()]) if (!assigned.has(id)) void this.closeLane(id, 'revoked');
    // Open (fence, restore) right away rather than on the first batch, so a quiet partition's
    // state is ready when its traffic comes back. The open itself needs no heartbeat: it runs
    // beside the clients' fetch loops, and a batch that waits for it heartbeats (see waitForLane).
    for (const [id, { topic, partition }] of assigned) if (!this.lanes.has(id)) this.openEagerly(id, topic, partition, this.joins, 0);
  }

  /**
   * Opens an assigned lane before its first batch, and retries a failed open (a changelog topic
   * created a moment ago may not have a leader yet) until it opens, is revoked or was fenced:
   * otherwise a partition with no traffic would stay unopened until traffic arrived.
   */
  private openEagerly(id: LaneId, topic: string, partition: number, join: number, attempt: number): void {
    this.laneFor(topic, partition, async () => undefined).catch((err: unknown) => {
      if (this.onLaneError(id, err, 'open') === 'escalate') return;
      const delay = Math.min(1000 * 2 ** attempt, 30_000);
      setTimeout(() => {
        if (this.stopping || join !== this.joins || this.lanes.has(id) || this.fenced.has(id) || !this.assigned.has(id)) return;
        this.openEagerly(id, topic, partition, join, attempt + 1);
      }, delay).unref();
    });
  }

  /** Returns the last offset handled, or undefined to have the batch fetched again. */
  private async onBatch(batch: FetchedBatch, heartbeat: () => Promise<void>): Promise<string | undefined> {
    const { opts } = this;
    if (this.stopping) return undefined;
    const id = laneId(batch.topic, batch.partition);
    this.lag.set(id, batch.lagBeyond);
    const fencedAt = this.fenced.get(id);
    if (fencedAt !== undefined && fencedAt.join === this.joins && Date.now() - fencedAt.at < opts.sessionTimeoutMs) {
      await heartbeat().catch(() => undefined);
      await sleep(500);
      return undefined;
    }
    let lane: Lane | undefined;
    try {
      lane = await this.waitForLane(id, batch, heartbeat);
    } catch (err) {
      this.onLaneError(id, err, 'open');
      await sleep(1000);
      return undefined;
    }
    if (lane === undefined) return undefined;
    // Batches and idle closes of a lane take turns (closeIdleLanes); a failed idle close closed the lane.
    for (let pending = this.inflight.get(id); pending !== undefined; pending = this.inflight.get(id)) await pending.catch(() => undefined);
    if (this.lanes.get(id) !== lane) return undefined;
    const inputBytes = batchBytes(batch.messages);
    this.holdBytes(id, inputBytes);
    const work = lane.process(batch.messages, heartbeat, {
      lagBeyond: batch.lagBeyond,
      holdOutput: (bytes) => this.holdBytes(id, bytes),
      releaseOutput: (bytes) => this.releaseBytes(id, bytes),
    });
    this.inflight.set(id, work);
    try {
      return await work;
    } catch (err) {
      this.onLaneError(id, err, 'process');
      this.inflight.delete(id);
      await this.closeLane(id, 'failed');
      return undefined;
    } finally {
      this.inflight.delete(id);
      this.releaseBytes(id, inputBytes);
    }
  }

  /**
   * Offers every quiet lane an idle close (closeIdleAfter), each a transaction of its own. It
   * takes the lane's in-flight slot as a batch does, so it never runs beside a batch of that lane
   * and a batch waits for it. While backpressure pauses the worker, input is waiting: no lane is
   * idle then.
   */
  private closeIdleLanes(): void {
    if (this.stopping) return;
    // Paused, or partitions still opening (a rebalance): input may be waiting on the broker.
    if (this.inFlight.pausedCount > 0 || this.opening.size > 0) {
      for (const lane of this.lanes.values()) lane.restartIdleClock();
      return;
    }
    const now = Date.now();
    for (const [id, lane] of this.lanes) {
      if (this.inflight.has(id) || !lane.idleAt(now)) continue;
      const work = this.closeIdleLane(id, lane, now);
      this.inflight.set(id, work);
      void work
        .finally(() => {
          if (this.inflight.get(id) === work) this.inflight.delete(id);
        })
        .catch(() => undefined);
    }
  }

  private async closeIdleLane(id: LaneId, lane: Lane, now: number): Promise<void> {
    try {
      await lane.closeIdle(now);
    } catch (err) {
      // A lane replaced meanwhile (revoked and assigned again) is not this failure's to close.
      if (this.lanes.get(id) !== lane) return;
      const recovery = this.onLaneError(id, err, 'idle close');
      // closeLane waits for the lane's in-flight work, which is this.
      this.inflight.delete(id);
      await this.closeLane(id, 'failed');
      // No batch may come to reopen a quiet partition: open it again as an assignment would.
      const tp = this.assignedPartitions.get(id);
      if (recovery !== 'escalate' && recovery !== 'rejoin' && tp !== undefined && !this.stopping) this.openEagerly(id, tp.topic, tp.partition, this.joins, 1);
    }
  }

  /**
   * The batch's lane once it is open. A restore can outlast the session timeout, and on kafkajs a
   * batch in hand holds the client's fetch loop, its only source of heartbeats: so the waiting
   * batch heartbeats. A rejected heartbeat means the group is rebalancing or dropped this member;
   * then the batch goes back (undefined) so the client can rejoin, and the open carries on.
   */
  private async waitForLane(id: LaneId, batch: FetchedBatch, heartbeat: () => Promise<void>): Promise<Lane | undefined> {
    const opening = this.laneFor(batch.topic, batch.partition, heartbeat);
    for (;;) {
      const lane = await Promise.race([opening, sleep(OPEN_WAIT_HEARTBEAT_MS).then(() => undefined)]);
      if (lane !== undefined) return lane;
      const handBack = this.stopping || (await heartbeat().then(() => false, () => true));
      if (handBack) {
        opening.catch((err: unknown) => this.onLaneError(id, err, 'open'));
        return undefined;
      }
    }
  }

  private holdBytes(id: LaneId, bytes: number): void {
    this.inFlight.add(id, bytes);
    this.opts.metrics.inFlightBytes.set(this.inFlight.total);
    this.opts.metrics.pausedPartitions.set(this.inFlight.pausedCount);
  }

  private releaseBytes(id: LaneId, bytes: number): void {
    this.inFlight.release(id, bytes);
    this.opts.metrics.inFlightBytes.set(this.inFlight.total);
    this.opts.metrics.pausedPartitions.set(this.inFlight.pausedCount);
  }

  private laneFor(topic: string, partition: number, heartbeat: () => Promise<void>): Promise<Lane> {
    const id = laneId(topic, partition);
    const open = this.lanes.get(id);
    if (open) return Promise.resolve(open);
    let pending = this.opening.get(id);
    if (!pending) {
      const lane = this.opts.createLane(topic, partition, this.group);
      pending = lane
        .open(heartbeat)
        .then(async () => {
          this.lanes.set(id, lane);
          this.inFlight.register(id);
          this.opts.metrics.lanes.set(this.lanes.size);
          // Revoked while it was opening: the GROUP_JOIN handler could not see it yet.
          if (!this.assigned.has(id)) await this.closeLane(id, 'revoked while opening');
          return lane;
        })
        .catch(async (err: unknown) => {
          await lane.close().catch(() => undefined);
          throw err;
        })
        .finally(() => this.opening.delete(id));
      this.opening.set(id, pending);
    }
    return pending;
  }

  /** Dispatches a lane's failure on its class and `canRetry` (errors.ts, `recoveryFor`). */
  private onLaneError(id: LaneId, err: unknown, phase: string): Recovery {
    const { log } = this.opts;
    const code = isSluiceError(err) ? err.code : 'SLUICE_INTERNAL';
    this.opts.metrics.aborts.inc({ partition: id, code });
    publishLaneError({ lane: id, phase, error: err });
    const recovery = recoveryFor(err);
    const message = (err as Error).message;
    if (recovery === 'rejoin') {
      this.fenced.set(id, { join: this.joins, at: Date.now() });
      log.warn(`${id}: ${message}`);
    } else if (recovery === 'restore') {
      log.warn(`${id}: ${phase} failed, local state cannot be trusted; a fresh lane restores it from the changelog: ${message}`);
    } else if (recovery === 'escalate') {
      log.error(`${id}: ${phase} failed with ${code}, which cannot be retried: ${message}`);
      this.opts.onFatal?.(err as SluiceError);
    } else {
      log.warn(`${id}: ${phase} failed, batch aborted and will be retried by a fresh lane: ${message}`);
      if (!isSluiceError(err)) log.debug((err as Error).stack ?? '');
    }
    return recovery;
  }

  private async closeLane(id: LaneId, why: string): Promise<void> {
    const lane = this.lanes.get(id);
    if (!lane) return;
    this.lanes.delete(id);
    this.opts.metrics.lanes.set(this.lanes.size);
    await this.inflight.get(id)?.catch(() => undefined);
    this.inFlight.forget(id);
    this.opts.log.info(`${lane.summary()} (closed: ${why})`);
    await lane.close().catch((err: Error) => this.opts.log.warn(`${id}: close failed: ${err.message}`));
  }

  /** Finishes the batch in flight, commits it, leaves the group, then closes every lane. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.idleTimer);
    await this.group.stop();
    await Promise.allSettled([...this.opening.values()]);
    for (const id of [...this.lanes.keys()]) await this.closeLane(id, 'shutdown');
  }

  openLanes(): string[] {
    return [...this.lanes.keys()];
  }

  /** This member's assignment for readiness: whether each partition's lane is open (restored), and its lag. */
  progress(): { joined: boolean; partitions: { partition: string; open: boolean; lag: number | undefined }[] } {
    return { joined: this.joins > 0, partitions: [...this.assigned].map((id) => ({ partition: id, open: this.lanes.has(id), lag: this.lag.get(id) })) };
  }
}
