import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition } from '../../../../src/clients/kafkajs/group-messages.ts';
import '../../../../src/clients/kafkajs/loader.ts';

// kafkajs's own version, reproduced here as the reference the replacement must match.
function reference<M>({ messages, partitioner, topic, partitionMetadata }: { topic: string; partitionMetadata: unknown[]; messages: M[]; partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: M }) => number }) {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, M[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    return Object.assign(result, { [partition]: [...(result[partition] ?? []), message] });
  }, {});
}

describe('groupMessagesPerPartition', () => {
  it('groups exactly as kafkajs did, keeping call order within each partition', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ partition: fc.integer({ min: 0, max: 7 }), v: fc.string() })), fc.integer({ min: 0, max: 3 }), (messages, metaLen) => {
        const args = { topic: 't', partitionMetadata: new Array(metaLen).fill({}), messages, partitioner: ({ message }: { message: { partition: number } }) => message.partition };
        expect(groupMessagesPerPartition(args)).toEqual(reference(args));
      }),
    );
  });

  it('is what kafkajs uses once src/clients/kafkajs/loader.ts is loaded', () => {
    const require = createRequire(import.meta.url);
    expect(require('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
  });
});
