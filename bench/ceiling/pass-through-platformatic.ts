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
import type { Message, MessagesStream, Producer as PlatformaticProducer } from '@platformatic/kafka';
import { chunkEnd } from '../../src/consumers/chunks.ts';
import { platformaticKafka } from '../../src/clients/platformatic/loader.ts';
import { platformaticRetryDelay } from '../../src/clients/platformatic/sink.ts';
import { fail, report, serveMember } from './pass-through-member.ts';
import type { PassThroughInit } from './pass-through-member.ts';

const { Consumer, FetchIsolationLevels, MessagesStreamFallbackModes, MessagesStreamModes, Producer, findErrorBy } = platformaticKafka;
type Producer = PlatformaticProducer;

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

async function run(init: PassThroughInit): Promise<{ stop: () => Promise<void> }> {
  const brokers = init.brokers.split(',');
  const clientId = 'sluice-bench-ceiling-plt';
  const consumer = new Consumer({
    clientId,
    bootstrapBrokers: brokers,
    groupId: init.groupId,
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxBytesPerPartition: init.maxBytes,
    maxWaitTime: 100,
    sessionTimeout: 6000,
    heartbeatInterval: 600,
    retryDelay: platformaticRetryDelay,
  });
  const lanes = new Map<number, Lane>();
  // set once consume() resolves; the join handler can run before that
  const ref: { stream?: MessagesStream<Buffer, Buffer, Buffer, Buffer> } = {};
  let running = true;
  let buffered = 0;
  let processed = 0;
  let transactions = 0;
  const bufferCap = () => Math.max(1, lanes.size) * init.maxRecords * 2;

  const openProducer = async (partition: number): Promise<Producer> => {
    const producer = new Producer({ clientId, bootstrapBrokers: brokers, transactionalId: `${init.groupId}-${partition}`, idempotent: true, timeout: 60_000, retries: 8, retryDelay: platformaticRetryDelay });
    // InitProducerId now, with -1/-1: the library's default 0/0 is refused (PRODUCER_FENCED) for
    // a transactional id the broker has seen before, i.e. on every run after the first.
    const txn = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    await txn.cancel();
    return producer;
  };

  const dropQueue = (lane: Lane) => {
    buffered -= lane.queue.length;
    lane.queue = [];
    if (ref.stream?.isPaused() && buffered < bufferCap() / 2) ref.stream.resume();
  };

  const transact = async (lane: Lane, chunk: Message[]): Promise<void> => {
    const producer = await lane.producer;
    const last = chunk.at(-1)!;
    const txn = await producer.beginTransaction();
    try {
      await txn.send({ messages: chunk.map((m) => ({ topic: init.output, partition: lane.partition, key: m.key, value: m.value })) });
      // AddOffsetsToTxn once per transaction, then TxnOffsetCommit of last.offset + 1 with the
      // generation and member id the message was fetched under (a stale one is refused).
      await txn.addConsumer(consumer);
      await txn.addOffset(last);
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => txn.cancel().catch(() => undefined));
      throw err;
    }
    lane.next = last.offset + 1n;
    processed += chunk.length;
    transactions++;
  };

  const drain = async (lane: Lane): Promise<void> => {
    await new Promise((r) => setImmediate(r));
    while (running && !lane.closed && lane.queue.length > 0) {
      const chunk = lane.queue.splice(0, chunkEnd(lane.queue, 0, init.maxRecords, init.maxBytes));
      buffered -= chunk.length;
      if (ref.stream?.isPaused() && buffered < bufferCap() / 2) ref.stream.resume();
      try {
        await transact(lane, chunk);
      } catch (err) {
        if (lane.closed || !running) return;
        if (!reassigned(err as Error)) throw err;
        // The stream has moved past this chunk and has no seek: rewind its position by hand,
        // the new generation's refetch (or this one) starts over from the chunk.
        dropQueue(lane);
        ref.stream?.offsetsToFetch.set(`${init.input}:${lane.partition}`, chunk[0]!.offset);
      }
    }
  };

  const wake = (lane: Lane) => {
    lane.draining ??= drain(lane).then(
      () => {
        lane.draining = undefined;
        if (lane.queue.length > 0 && running && !lane.closed) wake(lane);
      },
      fail,
    );
  };

  const closeLane = (lane: Lane) => {
    lane.closed = true;
    lanes.delete(lane.partition);
    dropQueue(lane);
    void Promise.resolve(lane.draining)
      .then(() => lane.producer)
      .then((p) => p.close(true))
      .catch(() => undefined);
  };

  // Producers open on joining, as sluice opens its lanes, so the drain measures steady work.
  consumer.on('consumer:group:join', (e) => {
    const assigned = (e.assignments?.find((a) => a.topic === init.input)?.partitions ?? []).slice().sort((a, b) => a - b);
    for (const lane of [...lanes.values()]) if (!assigned.includes(lane.partition)) closeLane(lane);
    for (const partition of assigned) {
      if (!lanes.has(partition)) lanes.set(partition, { partition, producer: openProducer(partition), queue: [], next: -1n, closed: false, draining: undefined });
    }
    void Promise.all(assigned.map((p) => lanes.get(p)!.producer)).then(() => report({ type: 'assigned', partitions: assigned, t: Date.now() }), fail);
  });

  const stream = await consumer.consume({
    topics: [init.input],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
    maxBytesPerPartition: init.maxBytes,
    maxWaitTime: 100,
  });
  ref.stream = stream;
  stream.on('error', fail);
  stream.on('data', (m: Message) => {
    const lane = lanes.get(m.partition);
    if (!lane || m.offset < lane.next) return;
    lane.queue.push(m);
    if (++buffered >= bufferCap() && !stream.isPaused()) stream.pause();
    wake(lane);
  });

  return {
    stop: async () => {
      running = false;
      await Promise.all([...lanes.values()].map((l) => l.draining));
      await stream.close().catch(() => undefined);
      await consumer.close(true).catch(() => undefined);
      await Promise.all([...lanes.values()].map((l) => l.producer.then((p) => p.close(true)).catch(() => undefined)));
      report({ type: 'stopped', processed, transactions });
    },
  };
}

serveMember(run);
