// Topic provisioning when another instance, or another worker of this one, creates the same
// topics at the same moment: its creation fails here and shows up a little later.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TopicsRefusedError } from '../../../src/clients/port.ts';
import type { NewTopic, TopicAdmin } from '../../../src/clients/port.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { createLogger } from '../../../src/log.ts';
import { ensureTopics } from '../../../src/sinks/topics.ts';

const example = parse(readFileSync(new URL('../../../examples/player-stats.yaml', import.meta.url), 'utf8'));

/** A broker where the topics are created by someone else: visible only after a few more calls. */
class RacingAdmin implements TopicAdmin {
  private readonly topics = new Set<string>();
  private readonly input: string;
  private pending: string[] = [];
  private calls = 0;
  metadataMisses: number;
  readonly requested: NewTopic[] = [];

  constructor(input: string, metadataMisses: number) {
    this.topics.add(input);
    this.input = input;
    this.metadataMisses = metadataMisses;
  }

  async listTopics(): Promise<string[]> {
    if (++this.calls > 3) for (const t of this.pending.splice(0)) this.topics.add(t);
    return [...this.topics];
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const created = topics.some((t) => t !== this.input);
    if (topics.some((t) => this.pending.includes(t)) || (created && this.metadataMisses-- > 0)) throw new Error('This server does not host this topic-partition');
    return new Map(topics.filter((t) => this.topics.has(t)).map((t) => [t, 4]));
  }

  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    this.requested.push(...topics);
    this.pending.push(...topics.map((t) => t.topic));
    throw new Error('Creating topics failed.');
  }

  async topicConfig(): Promise<string | undefined> {
    return undefined;
  }
}

describe('ensureTopics', () => {
  it('waits for topics another instance is creating, and for their metadata, instead of failing startup', async () => {
    const config = parseConfig(example);
    const admin = new RacingAdmin(config.input.topic, 3);
    const layout = await ensureTopics(admin, config, 'app-changelog', [], 'app-owners', createLogger('error'));
    expect(layout.partitions).toBe(4);
    expect(new Set(await admin.listTopics())).toEqual(new Set([config.input.topic, 'app-changelog', 'app-owners', config.output.topic, config.deadLetter.topic]));
    // One partition, whatever the input has: announcements per key in the order they were written.
    expect(admin.requested.find((t) => t.topic === 'app-owners')).toMatchObject({ partitions: 1, configs: { 'cleanup.policy': 'compact' } });
  });

  it('reads the output topic\'s partition count for output.partitioning: input only', async () => {
    const config = parseConfig(example);
    const byKey = await ensureTopics(new RacingAdmin(config.input.topic, 0), config, 'app-changelog', [], 'app-owners', createLogger('error'));
    expect(byKey.outputPartitions).toBeUndefined();
    const byInput = parseConfig({ ...example, output: { ...example.output, partitioning: 'input' } });
    // An output topic made by its consumers, with fewer partitions than the input's 4.
    const admin = new RacingAdmin(config.input.topic, 2);
    const counts = admin.partitionCounts.bind(admin);
    admin.partitionCounts = async (topics) => new Map([...(await counts(topics))].map(([t, n]) => [t, t === config.output.topic ? 3 : n]));
    const layout = await ensureTopics(admin, byInput, 'app-changelog', [], 'app-owners', createLogger('error'));
    expect({ partitions: layout.partitions, outputPartitions: layout.outputPartitions }).toEqual({ partitions: 4, outputPartitions: 3 });
  });

  it('fails at once when the broker refuses the topics for a reason waiting cannot change', async () => {
    const config = parseConfig(example);
    const admin = new RacingAdmin(config.input.topic, 0);
    admin.createTopics = async () => {
      throw new TopicsRefusedError('Topic authorization failed (TOPIC_AUTHORIZATION_FAILED)');
    };
    const started = Date.now();
    await expect(ensureTopics(admin, config, 'app-changelog', [], 'app-owners', createLogger('error'))).rejects.toMatchObject({ code: 'SLUICE_KAFKA', message: expect.stringContaining('TOPIC_AUTHORIZATION_FAILED') });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
