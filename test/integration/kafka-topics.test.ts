// `npm run kafka:topics`: the only way to make a topic on the dev broker, whose auto-create is off.
import { describe, expect, it } from 'vitest';
import { createTopic, deleteTopic, listTopics, topicsCommand, TopicsError } from '../../scripts/kafka-topics.ts';
import { brokers, uniqueName, withAdmin } from '../helpers/kafka.ts';

const broker = () => brokers().join(',');

describe('kafka:topics', () => {
  it('creates, lists and deletes a topic', async () => {
    const name = uniqueName('topics-cli');
    const printed: string[] = [];
    expect(await topicsCommand(['create', name, '--partitions', '3'], broker(), (l) => printed.push(l))).toBe(0);
    expect(printed.at(-1)).toContain(`created topic ${name} (3 partitions)`);
    const meta = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: [name] }));
    expect(meta.topics[0]?.partitions).toHaveLength(3);

    expect(await topicsCommand(['list'], broker(), (l) => printed.push(l))).toBe(0);
    expect(printed).toContain(`${name}\t3`);
    expect(printed.some((l) => l.startsWith('__'))).toBe(false);

    expect(await topicsCommand(['delete', name], broker(), (l) => printed.push(l))).toBe(0);
    expect(printed.at(-1)).toContain(`deleted topic ${name}`);
    // Deletion is asynchronous on the broker: the name leaves the listing shortly after.
    const deadline = Date.now() + 30_000;
    while ((await listTopics(broker())).some((t) => t.name === name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((await listTopics(broker())).map((t) => t.name)).not.toContain(name);
  });

  it('refuses a topic that exists, and one that does not, naming it', async () => {
    const name = uniqueName('topics-cli');
    await createTopic(broker(), name, 2);
    await expect(createTopic(broker(), name, 5)).rejects.toThrow(`topic "${name}" exists already, with 2 partitions`);
    await deleteTopic(broker(), name);
    await expect(deleteTopic(broker(), uniqueName('never-made'))).rejects.toThrow(/there is no topic "never-made-/);
  });

  it('says what is wrong with a command line, exit 2', async () => {
    for (const args of [['create'], ['create', 'x', '--partitions', '0'], ['create', 'x', '--parts', '2'], ['rename', 'x'], []]) {
      const err = await topicsCommand(args, broker()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TopicsError);
      expect((err as TopicsError).exitCode).toBe(2);
      expect((err as TopicsError).message).toContain('usage: npm run kafka:topics');
    }
  });

  it('names the broker it cannot reach', async () => {
    await expect(listTopics('127.0.0.1:1')).rejects.toThrow(/no broker answers at 127\.0\.0\.1:1: start the dev broker with npm run kafka:up/);
  });
});
