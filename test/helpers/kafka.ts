// Shared helpers for integration tests: every test makes its own uniquely named topics, so tests
// never see each other's data on the shared broker.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, ITopicConfig } from 'kafkajs';

export function brokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

export function testKafka(clientId = 'sluice-test'): Kafka {
  return new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka('sluice-test-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(topics: ITopicConfig[]): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.createTopics({ topics, waitForLeaders: true });
  });
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a throwaway group until `done` says so or time runs out.
 * read_committed unless `readUncommitted` is set.
 */
export async function readTopic(topic: string, opts: { done: (msgs: ReadMessage[]) => boolean; timeoutMs?: number; readUncommitted?: boolean }): Promise<ReadMessage[]> {
  const consumer = testKafka('sluice-test-reader').consumer({ groupId: uniqueName('reader'), readUncommitted: opts.readUncommitted ?? false, maxWaitTimeInMs: 200 });
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
        msgs.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
        if (opts.done(msgs)) resolveDone();
      },
    });
    if (opts.done(msgs)) resolveDone();
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`readTopic(${topic}): condition not met after ${timeoutMs}ms; read ${msgs.length} messages`);
    return msgs;
  } finally {
    await consumer.disconnect();
  }
}
