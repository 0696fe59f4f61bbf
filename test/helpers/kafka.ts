// Shared helpers for integration tests: every test makes its own uniquely named topics, so tests
// never see each other's data on the shared broker.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { KafkaClientName } from '../../src/clients/port.ts';
import type { Admin, ITopicConfig, KafkaConfig, Kafka as KafkaClient } from 'kafkajs';
import { Kafka, logLevel } from '../../src/clients/kafkajs/loader.ts';
import { createTopicsSettled } from '../../scripts/kafka-topics.ts';

export function brokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

/** The broker a helper talks to, with kafkajs's TLS and SASL options; by default the project's broker. */
export type KafkaTarget = Pick<KafkaConfig, 'ssl' | 'sasl'> & { brokers: string[] };

export function sharedBroker(): KafkaTarget {
  return { brokers: brokers() };
}

export function testKafka(clientId = 'sluice-test', target: KafkaTarget = sharedBroker()): KafkaClient {
  return new Kafka({ clientId, logLevel: logLevel.NOTHING, ...target });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>, target?: KafkaTarget): Promise<T> {
  const admin = testKafka('sluice-test-admin', target).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(topics: ITopicConfig[], target?: KafkaTarget): Promise<void> {
  await withAdmin(async (admin) => {
    await createTopicsSettled(admin, topics);
  }, target);
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  /** CreateTime (or LogAppendTime), epoch ms */
  timestamp: number;
  /** the value's bytes, for values that are not text (Avro) */
  valueBytes: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a throwaway group until `done` says so or time runs out.
 * read_committed unless `readUncommitted` is set.
 */
export async function readTopic(topic: string, opts: { done: (msgs: ReadMessage[]) => boolean; timeoutMs?: number; readUncommitted?: boolean; target?: KafkaTarget }): Promise<ReadMessage[]> {
  const consumer = testKafka('sluice-test-reader', opts.target).consumer({ groupId: uniqueName('reader'), readUncommitted: opts.readUncommitted ?? false, maxWaitTimeInMs: 200 });
  const msgs: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone!: () => void;
    const finished = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        msgs.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, valueBytes: message.value ?? null, timestamp: Number(message.timestamp), headers });
        if (opts.done(msgs)) resolveDone();
      },
    });
    // Conditions such as "quiet for 2s" change without a new message, so check on a timer too.
    const poll = setInterval(() => {
      if (opts.done(msgs)) resolveDone();
    }, 200);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    clearInterval(poll);
    if (outcome === 'timeout') throw new Error(`readTopic(${topic}): condition not met after ${timeoutMs}ms; read ${msgs.length} messages`);
    return msgs;
  } finally {
    await consumer.disconnect();
  }
}

/** Reads everything committed to `topic`: at least `min` records, then until nothing new arrives for `quietMs`. */
export async function readAllCommitted(topic: string, min: number, quietMs = 2000, timeoutMs = 60_000, target?: KafkaTarget): Promise<ReadMessage[]> {
  let lastCount = -1;
  let lastChange = Date.now();
  return readTopic(topic, {
    timeoutMs,
    target,
    done: (m) => {
      if (m.length !== lastCount) {
        lastCount = m.length;
        lastChange = Date.now();
      }
      return m.length >= min && Date.now() - lastChange >= quietMs;
    },
  });
}

/**
 * Every record of a topic written without transactions, read_committed, up to the end offsets it
 * has now: unlike readAllCommitted, which stops once it has `min` records and the topic goes
 * quiet, it cannot stop before a partition whose fetches lag is read to its end.
 */
export async function readToEnd(topic: string, timeoutMs = 120_000, target?: KafkaTarget): Promise<ReadMessage[]> {
  const ends = await withAdmin((admin) => admin.fetchTopicOffsets(topic), target);
  const left = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high) - 1n]));
  let seen = 0;
  return readTopic(topic, {
    timeoutMs,
    target,
    done: (msgs) => {
      for (; seen < msgs.length; seen++) {
        const m = msgs[seen]!;
        if (left.has(m.partition) && BigInt(m.offset) >= left.get(m.partition)!) left.delete(m.partition);
      }
      return left.size === 0;
    },
  });
}

/** Produces records to explicit partitions, in order, acknowledged by all replicas. */
export async function produceToPartitions(topic: string, records: readonly { partition: number; key: string | null; value: Buffer | string | null; headers?: Record<string, string> }[], target?: KafkaTarget): Promise<void> {
  const producer = testKafka('sluice-test-producer', target).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 2000) {
      const chunk = records.slice(i, i + 2000);
      await producer.send({ topic, acks: -1, messages: chunk.map((r) => ({ partition: r.partition, key: r.key, value: r.value, headers: r.headers })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Waits until the group's committed offsets reach the end of every partition of `topic`. */
export async function waitForCommittedEnd(groupId: string, topic: string, timeoutMs = 120_000, onTick?: () => void, target?: KafkaTarget): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await withAdmin(async (admin) => {
    const ends = await admin.fetchTopicOffsets(topic);
    for (;;) {
      let committed: Awaited<ReturnType<Admin['fetchOffsets']>>;
      try {
        committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      } catch (err) {
        // A broker that just restarted answers "coordinator loading" for a while; keep polling.
        if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const parts = committed[0]?.partitions ?? [];
      const behind = ends.filter((e) => parts.find((p) => p.partition === e.partition)?.offset !== e.high && e.high !== '0');
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`group ${groupId} did not reach the end of ${topic}: behind on ${JSON.stringify(behind.map((b) => ({ p: b.partition, end: b.high, at: parts.find((x) => x.partition === b.partition)?.offset })))}`);
      onTick?.();
      await new Promise((r) => setTimeout(r, 250));
    }
  }, target);
}

/** Every engine test runs on both clients (`kafka.client`): the issue asks that both pass the same tests. */
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];
