// Topics at startup: the input must exist; sluice owns and creates its changelog (compacted, one
// partition per input partition) and creates the output and dead-letter topics when missing.
// Listing topics (not a metadata request) checks existence, so a broker that auto-creates topics
// cannot be tricked into creating the input.
import type { Admin, ITopicConfig } from 'kafkajs';

import type { SluiceConfig } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';
import { ConfigResourceTypes } from '../kafka/client.ts';
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
export async function ensureTopics(admin: Admin, config: SluiceConfig, changelog: string, internal: readonly string[], log: Logger): Promise<TopicLayout> {
  const existing = new Set(await admin.listTopics());
  const input = config.input.topic;
  if (!existing.has(input)) {
    throw sluiceError('SLUICE_INPUT_TOPIC_MISSING', `input topic "${input}" does not exist on ${config.kafka.brokers.join(', ')}; create it first (sluice never creates its input); on the local dev broker: npm run kafka:topics -- create ${input} --partitions <n>`);
  }
  const meta = await admin.fetchTopicMetadata({ topics: [input] });
  const partitions = meta.topics[0]?.partitions.length ?? 0;
  if (partitions === 0) throw sluiceError('SLUICE_INPUT_TOPIC_MISSING', `input topic "${input}" has no partitions`);

  const missing: ITopicConfig[] = [];
  for (const topic of [changelog, ...internal]) {
    if (existing.has(topic)) continue;
    missing.push({
      topic,
      numPartitions: partitions,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'delete.retention.ms', value: String(DEFAULT_DELETE_RETENTION_MS) },
      ],
    });
  }
  for (const topic of [config.output.topic, config.deadLetter.topic]) {
    if (!existing.has(topic) && !missing.some((t) => t.topic === topic)) missing.push({ topic, numPartitions: partitions });
  }
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (err) {
      // Another instance may have created them a moment ago; what matters is that they exist now.
      const now = new Set(await admin.listTopics());
      const still = missing.filter((t) => !now.has(t.topic)).map((t) => t.topic);
      if (still.length > 0) throw sluiceError('SLUICE_KAFKA', `could not create topics ${still.join(', ')}: ${(err as Error).message}`, { cause: err });
    }
    log.info(`created topics: ${missing.map((t) => `${t.topic} (${t.numPartitions} partitions)`).join(', ')}`);
  }

  const internalMeta = await admin.fetchTopicMetadata({ topics: [changelog, ...internal] });
  for (const t of internalMeta.topics) {
    if (t.partitions.length !== partitions) {
      throw sluiceError('SLUICE_KAFKA', `internal topic "${t.name}" has ${t.partitions.length} partitions but input "${input}" has ${partitions}; they must match (was the input repartitioned?)`);
    }
  }
  const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: changelog, configNames: ['delete.retention.ms'] }], includeSynonyms: false });
  const value = described.resources[0]?.configEntries.find((e) => e.configName === 'delete.retention.ms')?.configValue;
  return { partitions, tombstoneRetentionMs: value ? Number(value) : DEFAULT_DELETE_RETENTION_MS };
}
