// The Java client's default partitioner (murmur2 of the key, positive, modulo the partition
// count), so keyed outputs land where any Kafka client would put them. kafkajs ships the same
// hash, but computes it with BigInt-backed Long objects and filters the partition list once per
// message: in a CPU profile of the benchmark that was 15% of a worker's samples, more than any
// stage of sluice's own. This is the same function in 32-bit integer arithmetic (the low 32
// bits of a product depend only on the low 32 bits of its factors, so the results are equal;
// test/unit/kafka/partitioner.test.ts checks them against kafkajs's murmur2).
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(key: string | Buffer): number {
  const data = typeof key === 'string' ? Buffer.from(key) : key;
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[tail + 2]! << 16;
    if (rest >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

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
    if (message.key !== null && message.key !== undefined) return (murmur2(message.key) & 0x7fffffff) % partitionMetadata.length;
    // Keyless records (none in sluice's outputs today) spread over partitions that have a leader.
    const next = (counters.get(topic) ?? Math.floor(Math.random() * 2 ** 31)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length === 0) return (next & 0x7fffffff) % partitionMetadata.length;
    return available[(next & 0x7fffffff) % available.length]!.partitionId;
  };
}
