// Topics at startup: the input must exist; sluice owns and creates its changelog (compacted, one
// partition per input partition) and creates the output and dead-letter topics when missing.
// Listing topics (not a metadata request) checks existence, so a broker that auto-creates topics
// cannot be tricked into creating the input.
import type { NewTopic, TopicAdmin } from '../clients/port.ts';
import type { SluiceConfig } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';

const DEFAULT_DELETE_RETENTION_MS = 86_400_000;

export interface TopicLayout {
  partitions: number;
  /** the changelog's delete.retention.ms: how long tombstones survive compaction */
  tombstoneRetentionMs: number;
}

/**
 * `changelog` is the source lanes' changelog; `internal` are further sluice-owned topics (the
 * partials and merge changelogs of cross-partition windows), all compacted, one partition per
 * input partition.
 */
export async function ensureTopics(admin: TopicAdmin, config: SluiceConfig, changelog: string, internal: readonly string[], log: Logger): Promise<TopicLayout> {
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
  for (const topic of [config.output.topic, config.deadLetter.topic]) {
    if (!existing.has(topic) && !missing.some((t) => t.topic === topic)) missing.push({ topic, partitions });
  }
  if (missing.length > 0) {
    try {
      await admin.createTopics(missing);
    } catch (err) {
      // Another instance may have created them a moment ago; what matters is that they exist now.
      const now = new Set(await admin.listTopics());
      const still = missing.filter((t) => !now.has(t.topic)).map((t) => t.topic);
      if (still.length > 0) throw sluiceError('SLUICE_KAFKA', `could not create topics ${still.join(', ')}: ${(err as Error).message}`, { cause: err });
    }
    log.info(`created topics: ${missing.map((t) => `${t.topic} (${t.partitions} partitions)`).join(', ')}`);
  }

  for (const [topic, count] of await admin.partitionCounts([changelog, ...internal])) {
    if (count !== partitions) {
      throw sluiceError('SLUICE_KAFKA', `internal topic "${topic}" has ${count} partitions but input "${input}" has ${partitions}; they must match (was the input repartitioned?)`);
    }
  }
  const value = await admin.topicConfig(changelog, 'delete.retention.ms');
  return { partitions, tombstoneRetentionMs: value ? Number(value) : DEFAULT_DELETE_RETENTION_MS };
}
