// Topics at startup: the input must exist; sluice owns and creates its changelog (compacted, one
// partition per input partition) and its owners topic (compacted, one partition), and creates the
// output and dead-letter topics when missing.
// Listing topics (not a metadata request) checks existence, so a broker that auto-creates topics
// cannot be tricked into creating the input.
import { TopicsRefusedError } from '../clients/port.ts';
import type { NewTopic, TopicAdmin } from '../clients/port.ts';
import type { SluiceConfig } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';

const DEFAULT_DELETE_RETENTION_MS = 86_400_000;

export interface TopicLayout {
  partitions: number;
  /** the changelog's delete.retention.ms: how long tombstones survive compaction */
  tombstoneRetentionMs: number;
  /** the output topic's partition count, read only for output.partitioning: input */
  outputPartitions?: number | undefined;
}

/** How long topics created by someone else may take to show up, before startup gives up. */
const SETTLE_MS = 30_000;

/** Polls `ready` (a throw counts as not yet) until it says yes, or fails with `message` after SETTLE_MS. */
async function untilSettled(message: string, cause: unknown, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let last: unknown = cause;
  for (;;) {
    try {
      if (await ready()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw sluiceError('SLUICE_KAFKA', last === cause ? message : `${message} (${(last as Error).message})`, { cause: last });
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The owners topic's settings: announcements are a few per rebalance, so the default segment (a
 * week or a gigabyte) would keep every one ever made in the active segment, which compaction never
 * touches, and a follower reads them all at start.
 */
const OWNERS_TOPIC_CONFIGS = { 'cleanup.policy': 'compact', 'delete.retention.ms': String(DEFAULT_DELETE_RETENTION_MS), 'segment.ms': '3600000' };

/** The output topic's partition count, once its metadata shows it (it may have been created a moment ago). */
async function outputPartitionCount(admin: TopicAdmin, topic: string): Promise<number> {
  let count = 0;
  await untilSettled(`output topic "${topic}" has no metadata yet`, undefined, async () => {
    count = (await admin.partitionCounts([topic])).get(topic) ?? 0;
    return count > 0;
  });
  return count;
}

/**
 * `changelog` is the source lanes' changelog; `internal` are further sluice-owned topics (the
 * partials and merge changelogs of cross-partition windows), all compacted, one partition per
 * input partition. `owners` is the ownership directory's topic (model/ownership.ts): compacted,
 * one partition, so that its records per key are in the order they were written.
 */
export async function ensureTopics(admin: TopicAdmin, config: SluiceConfig, changelog: string, internal: readonly string[], owners: string, log: Logger): Promise<TopicLayout> {
  const existing = new Set(await admin.listTopics());
  const input = config.input.topic;
  if (!existing.has(input)) {
    throw sluiceError('SLUICE_INPUT_TOPIC_MISSING', `input topic "${input}" does not exist on ${config.kafka.brokers.join(', ')}; create it first (sluice never creates its input); on the local dev broker: npm run kafka:topics -- create ${input} --partitions <n>`);
  }
  const partitions = (await admin.partitionCounts([input])).get(input) ?? 0;
  if (partitions === 0) throw sluiceError('SLUICE_INPUT_TOPIC_MISSING', `input topic "${input}" has no partitions`);

  const missing: NewTopic[] = [];
  for (const topic of [changelog, ...internal]) {
    if (existing.has(topic)) continue;
    missing.push({ topic, partitions, configs: { 'cleanup.policy': 'compact', 'delete.retention.ms': String(DEFAULT_DELETE_RETENTION_MS) } });
  }
  if (!existing.has(owners)) missing.push({ topic: owners, partitions: 1, configs: OWNERS_TOPIC_CONFIGS });
  for (const topic of [config.output.topic, config.deadLetter.topic]) {
    if (!existing.has(topic) && !missing.some((t) => t.topic === topic)) missing.push({ topic, partitions });
  }
  if (missing.length > 0) {
    try {
      await admin.createTopics(missing);
      log.info(`created topics: ${missing.map((t) => `${t.topic} (${t.partitions} partitions)`).join(', ')}`);
    } catch (err) {
      if (err instanceof TopicsRefusedError) throw sluiceError('SLUICE_KAFKA', `could not create topics ${missing.map((t) => t.topic).join(', ')}: ${err.message}`, { cause: err });
      // Another instance (or another worker of this one) may be creating them at this moment;
      // what matters is that they exist, which its creation takes a moment to show everywhere.
      await untilSettled(`could not create topics ${missing.map((t) => t.topic).join(', ')}: ${(err as Error).message}`, err, async () => {
        const now = new Set(await admin.listTopics());
        return missing.every((t) => now.has(t.topic));
      });
    }
  }

  // Metadata of a topic created a moment ago (here or by another instance) may not have reached
  // every broker yet: "does not host this topic-partition" then, for a little while.
  let counts: Map<string, number> | undefined;
  const sluiceOwned = [changelog, ...internal, owners];
  await untilSettled(`internal topics ${sluiceOwned.join(', ')} have no metadata yet`, undefined, async () => {
    counts = await admin.partitionCounts(sluiceOwned);
    return sluiceOwned.every((t) => (counts!.get(t) ?? 0) > 0);
  });
  for (const [topic, count] of counts!) {
    if (topic !== owners && count !== partitions) {
      throw sluiceError('SLUICE_KAFKA', `internal topic "${topic}" has ${count} partitions but input "${input}" has ${partitions}; they must match (was the input repartitioned?)`);
    }
  }
  const value = await admin.topicConfig(changelog, 'delete.retention.ms');
  const outputPartitions = config.output.partitioning === 'input' ? await outputPartitionCount(admin, config.output.topic) : undefined;
  return { partitions, tombstoneRetentionMs: value ? Number(value) : DEFAULT_DELETE_RETENTION_MS, outputPartitions };
}
