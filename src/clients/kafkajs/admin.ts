// The port's broker contact on kafkajs: the startup probe and topic provisioning.
import type { Admin, Kafka, LogEntry, SASLOptions } from 'kafkajs';
import type { Logger } from '../../log.ts';
import { REFUSED_CREATE_ERRORS, TopicsRefusedError } from '../port.ts';
import type { ConnectionSecurity, NewTopic, TopicAdmin } from '../port.ts';
import { ConfigResourceTypes, Kafka as KafkaClass, logLevel } from './loader.ts';

const REFUSED_TYPES = new Set(REFUSED_CREATE_ERRORS.values());

/** Whether kafkajs's error (or any it aggregates) is a refusal waiting cannot change. */
export function refused(err: unknown): boolean {
  const e = err as { type?: string; errors?: unknown[]; originalError?: unknown };
  if (e.type !== undefined && REFUSED_TYPES.has(e.type)) return true;
  return (e.errors ?? []).some(refused) || (e.originalError !== undefined && refused(e.originalError));
}

// kafkajs logs every retriable broker answer (coordinator loading, rebalancing) as an error;
// those are routine here, and the failures that matter surface as lane or startup errors.
export function kafkajsLogger(log: Logger) {
  return () => (entry: LogEntry) => log.debug(`kafkajs ${entry.namespace}: ${entry.log.message}`);
}

/**
 * A kafkajs client as sluice configures it; `retries` 0 for a probe that must answer now. Every
 * connection of the kafkajs side comes from one of these, so each gets `security`; the
 * mechanism names are kafkajs's own.
 */
export function kafkajsClient(opts: { brokers: readonly string[]; clientId: string; log: Logger; security?: ConnectionSecurity }, retries: number): Kafka {
  const { tls, sasl } = opts.security ?? {};
  return new KafkaClass({ clientId: opts.clientId, brokers: [...opts.brokers], logLevel: logLevel.WARN, logCreator: kafkajsLogger(opts.log), connectionTimeout: 3000, retry: { retries }, ...(tls === undefined ? {} : { ssl: tls }), ...(sasl === undefined ? {} : { sasl: { ...sasl } as SASLOptions }) });
}

/** One metadata round trip on a throwaway admin. */
export async function probeBrokers(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [] });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export class KafkajsTopicAdmin implements TopicAdmin {
  private readonly admin: Admin;

  constructor(admin: Admin) {
    this.admin = admin;
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect().catch(() => undefined);
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const meta = await this.admin.fetchTopicMetadata({ topics: [...topics] });
    return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  }

  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    try {
      await this.admin.createTopics({
        topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })) })),
        waitForLeaders: true,
      });
    } catch (err) {
      if (refused(err)) throw new TopicsRefusedError((err as Error).message, { cause: err });
      throw err;
    }
  }

  async topicConfig(topic: string, name: string): Promise<string | undefined> {
    const described = await this.admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }], includeSynonyms: false });
    return described.resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
  }
}
