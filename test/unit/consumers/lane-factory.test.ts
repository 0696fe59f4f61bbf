import { describe, expect, it } from 'vitest';
import { outputPartitionOf } from '../../../src/consumers/lane-factory.ts';

describe('outputPartitionOf (output.partitioning: input)', () => {
  it("is the lane's partition, wrapped onto an output topic with fewer partitions", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => outputPartitionOf(p, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => outputPartitionOf(p, 3))).toEqual([0, 1, 2, 0, 1, 2, 0, 1]);
    expect([0, 1, 2].map((p) => outputPartitionOf(p, 12))).toEqual([0, 1, 2]);
  });

  it('refuses to guess without the output topic\'s partition count', () => {
    expect(() => outputPartitionOf(1, undefined)).toThrow(/partition count/);
    expect(() => outputPartitionOf(1, 0)).toThrow(/partition count/);
  });
});
