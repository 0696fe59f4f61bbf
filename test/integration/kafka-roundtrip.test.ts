// Proves the broker the suite started is real and reachable with the client sluice uses.
import { describe, expect, inject, it } from 'vitest';
import { createTopics, readTopic, testKafka, uniqueName } from '../helpers/kafka.ts';

describe('real Kafka broker', () => {
  it(`round-trips records through kafkajs (broker from ${inject('kafkaSource')})`, async () => {
    const topic = uniqueName('roundtrip');
    await createTopics([{ topic, numPartitions: 3 }]);
    const producer = testKafka().producer();
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, messages });
    await producer.disconnect();

    const got = await readTopic(topic, { done: (m) => m.length >= 30 });
    expect(got.map((m) => JSON.parse(m.value ?? '{}').i).sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
    // Same key, same partition: the property partition-affine lanes rely on.
    const partitionOfKey = new Map<string, Set<number>>();
    for (const m of got) partitionOfKey.set(m.key ?? '', (partitionOfKey.get(m.key ?? '') ?? new Set()).add(m.partition));
    for (const parts of partitionOfKey.values()) expect(parts.size).toBe(1);
  });

  it('refuses to auto-create topics, as production brokers do', async () => {
    const producer = testKafka().producer({ allowAutoTopicCreation: true, retry: { retries: 1 } });
    await producer.connect();
    await expect(producer.send({ topic: uniqueName('missing'), messages: [{ value: 'x' }], timeout: 3000 })).rejects.toThrow();
    await producer.disconnect();
  });
});
