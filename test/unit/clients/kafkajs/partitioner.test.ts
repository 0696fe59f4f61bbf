import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../../../../src/clients/kafkajs/loader.ts';
import { createJavaCompatiblePartitioner } from '../../../../src/clients/kafkajs/partitioner.ts';
import { murmur2 } from '../../../../src/model/key-partition.ts';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;
const kafkajsDefault = require('kafkajs/src/producer/partitioners/default/index.js') as () => (a: unknown) => number;

const metadata = (n: number) => Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1 }));

describe('java-compatible partitioner', () => {
  it('hashes every key exactly as kafkajs (and the Java client) does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))), (key) => {
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches known values of the Java client', () => {
    // org.apache.kafka.common.utils.Utils.murmur2 test vectors
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });

  it('chooses the partition kafkajs chooses for keyed and explicitly placed records', () => {
    const ours = createJavaCompatiblePartitioner();
    const theirs = kafkajsDefault();
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), fc.option(fc.integer({ min: 0, max: 63 }), { nil: undefined }), (key, n, partition) => {
        const args = { topic: 't', partitionMetadata: metadata(n), message: { key, partition } };
        expect(ours(args)).toBe(theirs(args));
      }),
    );
  });

  it('spreads keyless records over partitions that have a leader', () => {
    const ours = createJavaCompatiblePartitioner();
    const partitionMetadata = [{ partitionId: 0, leader: -1 }, { partitionId: 1, leader: 1 }, { partitionId: 2, leader: 2 }];
    const seen = new Set(Array.from({ length: 20 }, () => ours({ topic: 't', partitionMetadata, message: { key: null } })));
    expect([...seen].sort()).toEqual([1, 2]);
  });
});
