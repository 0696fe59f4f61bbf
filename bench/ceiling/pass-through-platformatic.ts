// pass-through-kafkajs.ts on @platformatic/kafka instead of kafkajs, for consuming and producing:
// the same exactly-once consume -> produce -> offsets -> commit loop with no processing, one
// transactional producer per assigned partition, the same chunks (chunkEnd) and the same IPC
// protocol, so ceiling.ts can fork either script.
//
// The library's consumer is one stream of single messages for all assigned partitions, not
// kafkajs's per-partition batches with pause/resume per partition. So the stream is demultiplexed
// into one queue per partition ("lane"), each drained by its own loop of transactions; a fetch
// response is pushed synchronously, so a lane woken on setImmediate sees all of it, as eachBatch
// would. The stream can only be paused as a whole: it pauses when the lanes hold too much.
import type { Consumer as PlatformaticConsumer, Message, MessagesStream, Producer as PlatformaticProducer } from '@platformatic/kafka';
import { chunkEnd } from '../../src/consumers/chunks.ts';
import { platformaticKafka } from '../../src/clients/platformatic/loader.ts';
import { platformaticRetryDelay } from '../../src/clients/platformatic/sink.ts';
import { fail, report, serveMember } from './pass-through-member.ts';
import type { PassThroughInit } from './pass-through-member.ts';

const { Consumer, FetchIsolationLevels, MessagesStreamFallbackModes, MessagesStreamModes, Producer, findErrorBy } = platformaticKafka;
type Producer = PlatformaticProducer;
const CLIENT_ID = 'sluice-bench-ceiling-plt';

/** Errors after which the partition may have moved: drop the work, the group sorts it out. */
const REASSIGNED = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'];
const reassigned = (err: Error) => REASSIGNED.some((id) => findErrorBy(err, 'apiId', id));

interface Lane {
  partition: number;
  producer: Promise<Producer>;
  queue: Message[];
  /** the offset after the last one this lane committed: a refetch below it is a duplicate */
  next: bigint;
  closed: boolean;
  /** the running drain loop, if any */
  draining: Promise<void> | undefined;
}

class PassThrough {
  private readonly init: PassThroughInit;
  private readonly brokers: string[];
  private readonly consumer: PlatformaticConsumer;
  private readonly lanes = new Map<number, Lane>();
  /** set once consume() resolves; the join handler can run before that */
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private running = true;
  /** messages queued in all lanes */
  private buffered = 0;
  private processed = 0;
  private transactions = 0;

  constructor(init: PassThroughInit) {
    this.init = init;
    this.brokers = init.brokers.split(',');
    this.consumer = new Consumer({
      clientId: CLIENT_ID,
      bootstrapBrokers: this.brokers,
      groupId: init.groupId,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxBytesPerPartition: init.maxBytes,
      maxWaitTime: 100,
      sessionTimeout: 6000,
      heartbeatInterval: 600,
      retryDelay: platformaticRetryDelay,
    });
    this.consumer.on('consumer:group:join', (e) => this.onJoin((e.assignments?.find((a) => a.topic === init.input)?.partitions ?? []).slice().sort((a, b) => a - b)));
  }

  async start(): Promise<void> {
    const stream = await this.consumer.consume({
      topics: [this.init.input],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
      maxBytesPerPartition: this.init.maxBytes,
      maxWaitTime: 100,
    });
    this.stream = stream;
    stream.on('error', fail);
    stream.on('data', (m: Message) => this.onMessage(m));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.lanes.values()].map((l) => l.draining));
    await this.stream?.close().catch(() => undefined);
    await this.consumer.close(true).catch(() => undefined);
    await Promise.all([...this.lanes.values()].map((l) => l.producer.then((p) => p.close(true)).catch(() => undefined)));
    report({ type: 'stopped', processed: this.processed, transactions: this.transactions });
  }

  // Producers open on joining, as sluice opens its lanes, so the drain measures steady work.
  private onJoin(assigned: number[]): void {
    for (const lane of [...this.lanes.values()]) if (!assigned.includes(lane.partition)) this.closeLane(lane);
    for (const partition of assigned) {
      if (!this.lanes.has(partition)) this.lanes.set(partition, { partition, producer: this.openProducer(partition), queue: [], next: -1n, closed: false, draining: undefined });
    }
    void Promise.all(assigned.map((p) => this.lanes.get(p)!.producer)).then(() => report({ type: 'assigned', partitions: assigned, t: Date.now() }), fail);
  }

  private onMessage(m: Message): void {
    const lane = this.lanes.get(m.partition);
    if (!lane || m.offset < lane.next) return;
    lane.queue.push(m);
    if (++this.buffered >= this.bufferCap() && !this.stream!.isPaused()) this.stream!.pause();
    this.wake(lane);
  }

  private bufferCap(): number {
    return Math.max(1, this.lanes.size) * this.init.maxRecords * 2;
  }

  private resumeIfDrained(): void {
    if (this.stream?.isPaused() && this.buffered < this.bufferCap() / 2) this.stream.resume();
  }

  private async openProducer(partition: number): Promise<Producer> {
    const producer = new Producer({ clientId: CLIENT_ID, bootstrapBrokers: this.brokers, transactionalId: `${this.init.groupId}-${partition}`, idempotent: true, timeout: 60_000, retries: 8, retryDelay: platformaticRetryDelay });
    // InitProducerId now, with -1/-1: the library's default 0/0 is refused (PRODUCER_FENCED) for
    // a transactional id the broker has seen before, i.e. on every run after the first.
    const txn = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    await txn.cancel();
    return producer;
  }

  private dropQueue(lane: Lane): void {
    this.buffered -= lane.queue.length;
    lane.queue = [];
    this.resumeIfDrained();
  }

  private async transact(lane: Lane, chunk: Message[]): Promise<void> {
    const producer = await lane.producer;
    const last = chunk.at(-1)!;
    const txn = await producer.beginTransaction();
    try {
      await txn.send({ messages: chunk.map((m) => ({ topic: this.init.output, partition: lane.partition, key: m.key, value: m.value })) });
      // AddOffsetsToTxn once per transaction, then TxnOffsetCommit of last.offset + 1 with the
      // generation and member id the message was fetched under (a stale one is refused).
      await txn.addConsumer(this.consumer);
      await txn.addOffset(last);
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => txn.cancel().catch(() => undefined));
      throw err;
    }
    lane.next = last.offset + 1n;
    this.processed += chunk.length;
    this.transactions++;
  }

  private async drain(lane: Lane): Promise<void> {
    await new Promise((r) => setImmediate(r));
    while (this.running && !lane.closed && lane.queue.length > 0) {
      const chunk = lane.queue.splice(0, chunkEnd(lane.queue, 0, this.init.maxRecords, this.init.maxBytes));
      this.buffered -= chunk.length;
      this.resumeIfDrained();
      try {
        await this.transact(lane, chunk);
      } catch (err) {
        if (lane.closed || !this.running) return;
        if (!reassigned(err as Error)) throw err;
        // The stream has moved past this chunk and has no seek: rewind its position by hand,
        // the new generation's refetch (or this one) starts over from the chunk.
        this.dropQueue(lane);
        this.stream?.offsetsToFetch.set(`${this.init.input}:${lane.partition}`, chunk[0]!.offset);
      }
    }
  }

  private wake(lane: Lane): void {
    lane.draining ??= this.drain(lane).then(
      () => {
        lane.draining = undefined;
        if (lane.queue.length > 0 && this.running && !lane.closed) this.wake(lane);
      },
      fail,
    );
  }

  private closeLane(lane: Lane): void {
    lane.closed = true;
    this.lanes.delete(lane.partition);
    this.dropQueue(lane);
    void Promise.resolve(lane.draining)
      .then(() => lane.producer)
      .then((p) => p.close(true))
      .catch(() => undefined);
  }
}

serveMember(async (init) => {
  const passThrough = new PassThrough(init);
  await passThrough.start();
  return passThrough;
});
