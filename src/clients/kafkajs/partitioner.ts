// kafkajs's partitioner, replaced by the Java client's default (src/model/key-partition.ts), so keyed
// outputs land where any Kafka client would put them, without kafkajs's per-message list filtering.
import { defaultPartition } from '../../model/key-partition.ts';

interface PartitionArgs {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { partition?: number | null; key?: string | Buffer | null };
}

/** kafkajs `createPartitioner`: explicit partition, else murmur2 of the key, else round robin. */
export function createJavaCompatiblePartitioner(): (args: PartitionArgs) => number {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return defaultPartition(message.key, partitionMetadata.length);
    // Keyless records (none in sluice's outputs today) spread over partitions that have a leader.
    const next = (counters.get(topic) ?? Math.floor(Math.random() * 2 ** 31)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length === 0) return (next & 0x7fffffff) % partitionMetadata.length;
    return available[(next & 0x7fffffff) % available.length]!.partitionId;
  };
}
