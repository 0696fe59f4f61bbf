// What the demo's pipeline wrote, read back as a downstream consumer would (read_committed),
// through sluice's own client port: the same bounded reads `sluice dlq inspect` uses.
import type { StreamClient } from '../../src/clients/port.ts';
import { scanDeadLetters } from '../../src/entry/dlq-scan.ts';

/** An output record's value as docs/output.md defines it (JSON). */
export interface Result {
  window: string;
  group: Record<string, unknown>;
  start: number;
  end: number;
  final: boolean;
  values: Record<string, unknown>;
}

/** Every committed record of `topic` up to the end it has now, partition by partition. */
async function readCommitted(client: StreamClient, topic: string): Promise<Buffer[]> {
  const partitions = (await client.topics.partitionCounts([topic])).get(topic) ?? 0;
  const values: Buffer[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const end = BigInt(await client.highWatermark(topic, partition));
    if (end === 0n) continue;
    await client.partitionReader.read({ topic, partition, fromOffset: undefined, untilOffset: end.toString() }, (records) => {
      for (const r of records) if (BigInt(r.offset) < end && r.value !== null) values.push(r.value);
    });
  }
  return values;
}

/**
 * Whether `groupId` has committed every committed record of `topic`. Its position may stay short
 * of the end by transaction markers (the partials topics are written transactionally), so what
 * lies between is read: only markers there means there is nothing left.
 */
export async function consumedAll(client: StreamClient, groupId: string, topic: string): Promise<boolean> {
  const partitions = (await client.topics.partitionCounts([topic])).get(topic) ?? 0;
  for (let partition = 0; partition < partitions; partition++) {
    const end = await client.highWatermark(topic, partition);
    const position = await client.committedOffset(groupId, topic, partition);
    if (end === '0' || position === end) continue;
    let left = false;
    await client.partitionReader.read({ topic, partition, fromOffset: position, untilOffset: end }, (records) => {
      left ||= records.some((r) => BigInt(r.offset) < BigInt(end));
    });
    if (left) return false;
  }
  return true;
}

export async function readResults(client: StreamClient, topic: string): Promise<Result[]> {
  return (await readCommitted(client, topic)).map((v) => JSON.parse(v.toString('utf8')) as Result);
}

/** Dead letters by `sluice.reason`, most frequent first. */
export async function deadLetterReasons(client: StreamClient, topic: string): Promise<[string, number][]> {
  const counts = new Map<string, number>();
  const noFilter = { reasons: new Set<string>(), sinceMs: undefined };
  await scanDeadLetters(client, topic, noFilter, (dl) => void counts.set(dl.reason, (counts.get(dl.reason) ?? 0) + 1), () => undefined);
  return [...counts].sort(([, a], [, b]) => b - a);
}

/** The results of one window whose start is the latest among them. */
export function latestOf(results: readonly Result[], window: string): Result[] {
  const own = results.filter((r) => r.window === window && r.final);
  const latest = Math.max(...own.map((r) => r.start));
  return own.filter((r) => r.start === latest);
}

/** Values as JSON, fractions cut to two decimals: a quantile's 15 digits only make the line long. */
export const shown = (values: unknown): string => JSON.stringify(values, (_, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v));

export const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
