// The port's broker contact on @platformatic/kafka: the startup probe and topic provisioning.
import type { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { REFUSED_CREATE_ERRORS, TopicsRefusedError } from '../port.ts';
import type { NewTopic, TopicAdmin } from '../port.ts';
import { connectionOptions } from './connection.ts';
import type { PlatformaticConnection } from './connection.ts';
import { platformaticKafka } from './loader.ts';
import { platformaticRetryDelay } from './sink.ts';

const { Admin, ConfigResourceTypes } = platformaticKafka;

/** How long created topics may take to get leaders, as kafkajs's `waitForLeaders` allows. */
const LEADER_WAIT_MS = 30_000;

export function platformaticAdmin(opts: PlatformaticConnection, retries: number): PlatformaticAdmin {
  return new Admin({ ...connectionOptions(opts, 'admin'), connectTimeout: 3000, retries, retryDelay: platformaticRetryDelay });
}

/** One metadata round trip on a throwaway admin. */
export async function probeBrokers(opts: PlatformaticConnection): Promise<void> {
  const admin = platformaticAdmin(opts, 0);
  try {
    await admin.metadata({ topics: [] });
  } finally {
    await admin.close().catch(() => undefined);
  }
}

const TOPIC_ALREADY_EXISTS = 36;

/** Whether the library's error (or any it aggregates) holds a refusal waiting cannot change; its code's name, if so. */
export function refusedCode(err: unknown): string | undefined {
  for (const inner of (err as { errors?: unknown[] }).errors ?? []) {
    const name = refusedCode(inner);
    if (name !== undefined) return name;
  }
  const topics = (err as { response?: { topics?: { errorCode: number }[] } }).response?.topics ?? [];
  for (const t of topics) {
    const name = REFUSED_CREATE_ERRORS.get(t.errorCode);
    if (name !== undefined) return name;
  }
  return undefined;
}

/**
 * Whether a CreateTopics failure says only that its topics exist. The library wraps the broker's
 * answer in AggregateErrors, once more for every retry it made (a retry after a timed-out
 * request whose topic was created meets TOPIC_ALREADY_EXISTS).
 */
export function onlyAlreadyExists(err: unknown): boolean {
  const inner = (err as { errors?: unknown[] }).errors;
  if (inner !== undefined) return inner.length > 0 && inner.every(onlyAlreadyExists);
  const topics = (err as { response?: { topics?: { errorCode: number }[] } }).response?.topics;
  return topics !== undefined && topics.length > 0 && topics.every((t) => t.errorCode === 0 || t.errorCode === TOPIC_ALREADY_EXISTS);
}

export class PlatformaticTopicAdmin implements TopicAdmin {
  private readonly admin: PlatformaticAdmin;

  constructor(admin: PlatformaticAdmin) {
    this.admin = admin;
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const meta = await this.admin.metadata({ topics: [...topics], forceUpdate: true });
    return new Map([...meta.topics].map(([name, t]) => [name, t.partitionsCount]));
  }

  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    // The library applies one config list to a whole request, so topics go one request each.
    for (const t of topics) {
      const configs = Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value }));
      // Another worker or instance starting at the same moment may have created it in between.
      await this.admin.createTopics({ topics: [t.topic], partitions: t.partitions, configs }).catch((err: unknown) => {
        if (onlyAlreadyExists(err)) return;
        const code = refusedCode(err);
        if (code !== undefined) throw new TopicsRefusedError(`${(err as Error).message} (${code})`, { cause: err });
        throw err;
      });
    }
    await this.waitForLeaders(topics.map((t) => t.topic));
  }

  private async waitForLeaders(topics: readonly string[]): Promise<void> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const meta = await this.admin.metadata({ topics: [...topics], forceUpdate: true }).catch(() => undefined);
      const led = meta !== undefined && topics.every((name) => meta.topics.get(name)?.partitions.every((p) => p.leader >= 0));
      if (led) return;
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after ${LEADER_WAIT_MS / 1000}s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async topicConfig(topic: string, name: string): Promise<string | undefined> {
    const described = await this.admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: [name] }] });
    return described[0]?.configs.find((c) => c.name === name)?.value ?? undefined;
  }

  close(): Promise<void> {
    return this.admin.close();
  }
}
