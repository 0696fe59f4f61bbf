// The Java client's default partitioner: murmur2 of the key, positive, modulo the partition count.
// Every Kafka client's default (kafkajs's, the Java client's) puts a keyed record there, and so do
// both of sluice's producers (src/clients/kafkajs/partitioner.ts, and @platformatic/kafka's
// compatibility partitioner); interactive queries use it to find the partition of a group.
// kafkajs ships the same hash, but computes it with BigInt-backed Long objects: in a CPU profile of
// the benchmark that was 15% of a worker's samples, more than any stage of sluice's own. This is
// the same function in 32-bit integer arithmetic (the low 32 bits of a product depend only on the
// low 32 bits of its factors, so the results are equal; test/unit/clients/kafkajs/partitioner.test.ts
// checks them against kafkajs's murmur2).
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

/** The partition the Java client's default partitioner gives a record with this key. */
export function defaultPartition(key: string | Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
