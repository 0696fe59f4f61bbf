// Which broker the benchmark talks to, and the admin operations it needs on it. A broker the
// bench starts is its own (own directory, free port) and is stopped at the end; the developer's
// broker or a KAFKA_BROKERS cluster is only borrowed.
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { Kafka, logLevel } from '../../src/clients/kafkajs/loader.ts';
import { KAFKA_VERSION, brokerAnswers, cacheRoot, freePort, pidAlive, readBrokerState, startBroker, stopBroker } from '../../scripts/kafka-broker.ts';

export interface BrokerChoice {
  brokers: string;
  source: 'KAFKA_BROKERS' | 'dev broker' | 'started by the bench';
  kafkaVersion: string | undefined;
  /** the broker's process when it runs on this machine, to report the CPU it took */
  pid: number | undefined;
  /** stops the broker when the bench started it; a no-op otherwise */
  release(): Promise<void>;
}

export async function chooseBroker(log: (line: string) => void): Promise<BrokerChoice> {
  const none = async () => undefined;
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, source: 'KAFKA_BROKERS', kafkaVersion: undefined, pid: undefined, release: none };
  const dev = readBrokerState(join(cacheRoot(), 'dev-broker'));
  if (dev && pidAlive(dev.pid) && (await brokerAnswers(dev.brokers))) return { brokers: dev.brokers, source: 'dev broker', kafkaVersion: KAFKA_VERSION, pid: dev.pid, release: none };
  const dir = join(cacheRoot(), 'bench-broker');
  log('bench: no broker running; starting one for this run (stopped at the end)');
  const handle = await startBroker({ port: await freePort(), dir, log });
  log(`bench: broker up at ${handle.brokers} in ${(handle.startMs / 1000).toFixed(1)}s`);
  return {
    brokers: handle.brokers,
    source: 'started by the bench',
    kafkaVersion: KAFKA_VERSION,
    pid: handle.pid,
    release: async () => {
      await stopBroker(dir);
    },
  };
}

export class BenchAdmin {
  readonly admin: Admin;

  private constructor(admin: Admin) {
    this.admin = admin;
  }

  static async connect(brokers: string): Promise<BenchAdmin> {
    const admin = new Kafka({ clientId: 'sluice-bench-admin', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    return new BenchAdmin(admin);
  }

  /**
   * LogAppendTime makes a record's Kafka timestamp the moment the broker appended it, so the
   * latency metric measures append -> commit and not the load generator's clock or queueing.
   */
  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.admin.createTopics({
      topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
      waitForLeaders: false,
    });
    // kafkajs's own wait retries only LEADER_NOT_AVAILABLE; a broker that has just started also
    // answers UNKNOWN_TOPIC_OR_PARTITION for a moment (a fresh-clone CI run failed on it).
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const parts = meta.topics[0]?.partitions ?? [];
        if (parts.length === partitions && parts.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async ends(topic: string): Promise<Map<number, number>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  /** Committed offsets of `groupId` on `topic` per partition (-1: nothing committed). */
  async committed(groupId: string, topic: string): Promise<Map<number, number>> {
    const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  /** Events consumed so far by `groupId` on `topic`: the sum of its committed offsets. */
  async committedTotal(groupId: string, topic: string): Promise<number> {
    let n = 0;
    for (const offset of (await this.committed(groupId, topic)).values()) n += Math.max(0, offset);
    return n;
  }

  /**
   * Polls until `groupId` has committed at least `targets[p]` on every partition p of `topic`
   * (a transaction marker may sit after the last record, so the topic's end is not the target).
   */
  async waitForCommitted(groupId: string, topic: string, targets: readonly number[], timeoutMs: number, onPoll?: () => void): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const committed = await this.committed(groupId, topic);
      const behind = targets.flatMap((target, p) => (target > 0 && (committed.get(p) ?? -1) < target ? [p] : []));
      if (behind.length === 0) return Date.now();
      if (Date.now() > deadline) {
        const detail = behind.map((p) => `${p}: ${committed.get(p) ?? 'none'}/${targets[p]}`).join(', ');
        throw new Error(`group ${groupId} did not commit everything on ${topic} within ${Math.round(timeoutMs / 1000)}s (partition: committed/target ${detail})`);
      }
      onPoll?.();
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length > 0) await this.admin.deleteTopics({ topics: mine, timeout: 30_000 });
  }

  async deleteGroups(groups: string[]): Promise<void> {
    await this.admin.deleteGroups(groups).catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }
}
