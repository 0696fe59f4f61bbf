// Which instance owns each partition, as the owners topic (`<application.id>-owners`, compacted,
// one partition) records it: each lane announces itself when it opens, keyed `<topic>/<partition>`
// (a Kafka topic name has no `/`, so a key names one partition only), valued
// `{"url": <advertised URL>, "at": <epoch ms>}`. Here, below both the consumers that write and
// read it and the HTTP layer that routes queries by it.

export interface PartitionOwner {
  /** the owning instance's http.advertisedUrl */
  url: string;
  /** when its lane opened, epoch ms on the owner's clock: for logs and operators, never compared */
  at: number;
}

/** Where a query for a partition goes: what the instance serving HTTP consults. */
export interface OwnerDirectory {
  /** the last announced owner of a topic-partition; undefined when none was heard */
  ownerOf(topic: string, partition: number): PartitionOwner | undefined;
  /** this instance's own advertised URL */
  readonly self: string;
  close(): Promise<void>;
}

export function ownerKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function encodeOwner(owner: PartitionOwner): string {
  return JSON.stringify({ url: owner.url, at: owner.at });
}

/** undefined for a value that is not an announcement (written by something else, or damaged) */
export function decodeOwner(value: Buffer | string): PartitionOwner | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { url, at } = parsed as Record<string, unknown>;
  return typeof url === 'string' && url !== '' && typeof at === 'number' && Number.isFinite(at) ? { url, at } : undefined;
}
