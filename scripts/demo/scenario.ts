// What a demo scenario supplies besides its example pipeline: the input it writes and how it shows
// the results. The driver (scripts/demo.ts) does the rest.
import type { StreamClient } from '../../src/clients/port.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import type { OutRecord } from '../../src/model/records.ts';
import type { Result } from './read-back.ts';

export interface Produced {
  /** input records written */
  records: number;
  /** the dead letters they must cause, by reason */
  deadLetters: Record<string, number>;
}

export interface DemoScenario {
  /** the file under examples/ whose pipeline runs */
  example: string;
  /** what the input is, for the line that announces it */
  inputName: string;
  /** writes the tables, then the input, to the (created, empty) topics */
  produce(client: StreamClient, config: SluiceConfig, events: number): Promise<Produced>;
  /** lines that show the results */
  describe(results: readonly Result[]): string[];
}

/** A seeded generator in [0, 1), so every run writes the same stream. */
export function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/**
 * Sends keyed records in chunks, partitioned by the Java client's partitioner as sluice's own
 * producer does: a co-partitioned table's row then lands in the partition of its key's events.
 */
export async function sendAll(client: StreamClient, records: readonly OutRecord[]): Promise<void> {
  const producer = await client.producer();
  try {
    for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
  } finally {
    await producer.close();
  }
}
