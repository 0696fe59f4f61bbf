// `npm run kafka:topics -- create <name> --partitions <n> | list | delete <name>`: the dev broker
// creates no topic by itself (auto-create is off, as in production) and the jars-only broker has no
// kafka-topics.sh, so this is how a topic for sluice's input gets made.
import type { Admin, ITopicConfig } from 'kafkajs';
import { Kafka, logLevel } from '../src/clients/kafkajs/loader.ts';

export const TOPICS_USAGE = `usage: npm run kafka:topics -- create <name> [--partitions <n>] [--replication-factor <n>]
       npm run kafka:topics -- list
       npm run kafka:topics -- delete <name>
Talks to KAFKA_BROKERS if set, else to the local dev broker (npm run kafka:up).`;

export class TopicsError extends Error {
  override name = 'TopicsError';
  /** 2 for a wrong command line, 1 for what the broker said */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

function usageError(problem: string): TopicsError {
  return new TopicsError(`${problem}\n${TOPICS_USAGE}`, 2);
}

export interface TopicInfo {
  name: string;
  partitions: number;
}

async function withAdmin<T>(brokers: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: 'sluice-topics', brokers: brokers.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 2 } }).admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new TopicsError(`no broker answers at ${brokers}: start the dev broker with npm run kafka:up, or set KAFKA_BROKERS`, 1, { cause: err });
  }
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The metadata errors of a topic created a moment ago, before every broker has heard of it. */
const UNSETTLED = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * createTopics with waitForLeaders, except that kafkajs gives up on "does not host this
 * topic-partition" while a busy broker still propagates the new topic's metadata: that is waited
 * out (30 s at most) until every partition has a leader. Returns what createTopics returned.
 */
export async function createTopicsSettled(admin: Admin, topics: ITopicConfig[]): Promise<boolean> {
  let created: boolean;
  try {
    created = await admin.createTopics({ topics, waitForLeaders: true });
  } catch (err) {
    if (!UNSETTLED.has((err as { type?: string }).type ?? '')) throw err;
    created = true;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return created;
    } catch (err) {
      if (!UNSETTLED.has((err as { type?: string }).type ?? '') || Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.topic).join(', ')} have no leaders after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Creates a topic; fails if it exists already, since its partition count may not be the one asked for. */
export async function createTopic(brokers: string, name: string, partitions: number, replicationFactor = 1): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    const created = await createTopicsSettled(admin, [{ topic: name, numPartitions: partitions, replicationFactor }]);
    if (!created) {
      const meta = await admin.fetchTopicMetadata({ topics: [name] });
      throw new TopicsError(`topic "${name}" exists already, with ${meta.topics[0]?.partitions.length ?? '?'} partitions`);
    }
  });
}

/** Every topic except Kafka's own (`__consumer_offsets`, `__transaction_state`), by name. */
export async function listTopics(brokers: string): Promise<TopicInfo[]> {
  return withAdmin(brokers, async (admin) => {
    const names = (await admin.listTopics()).filter((n) => !n.startsWith('__')).sort();
    if (names.length === 0) return [];
    const meta = await admin.fetchTopicMetadata({ topics: names });
    return meta.topics.map((t) => ({ name: t.name, partitions: t.partitions.length })).sort((a, b) => a.name.localeCompare(b.name));
  });
}

export async function deleteTopic(brokers: string, name: string): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    if (!(await admin.listTopics()).includes(name)) throw new TopicsError(`there is no topic "${name}"`);
    await admin.deleteTopics({ topics: [name] });
  });
}

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1) throw usageError(`${flag} needs a whole number of at least 1, not ${value ?? 'nothing'}`);
  return n;
}

/** Runs `topics <args>` against `brokers`; returns the exit code. */
export async function topicsCommand(args: readonly string[], brokers: string, print: (line: string) => void = console.log): Promise<number> {
  const [cmd, ...rest] = args;
  const names: string[] = [];
  let partitions = 1;
  let replicationFactor = 1;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--partitions' || a === '-p') partitions = positiveInt(a, rest[++i]);
    else if (a.startsWith('--partitions=')) partitions = positiveInt('--partitions', a.slice('--partitions='.length));
    else if (a === '--replication-factor') replicationFactor = positiveInt(a, rest[++i]);
    else if (a.startsWith('-')) throw usageError(`unknown option "${a}"`);
    else names.push(a);
  }
  const one = (): string => {
    if (names.length !== 1) throw usageError(`${cmd} takes one topic name`);
    return names[0]!;
  };
  switch (cmd) {
    case 'create': {
      const name = one();
      await createTopic(brokers, name, partitions, replicationFactor);
      print(`kafka: created topic ${name} (${partitions} partition${partitions === 1 ? '' : 's'}) on ${brokers}`);
      return 0;
    }
    case 'list': {
      if (names.length > 0) throw usageError('list takes no topic name');
      for (const t of await listTopics(brokers)) print(`${t.name}\t${t.partitions}`);
      return 0;
    }
    case 'delete': {
      const name = one();
      await deleteTopic(brokers, name);
      print(`kafka: deleted topic ${name} on ${brokers}`);
      return 0;
    }
    default:
      throw cmd === undefined ? new TopicsError(TOPICS_USAGE, 2) : usageError(`unknown topics command "${cmd}"`);
  }
}
