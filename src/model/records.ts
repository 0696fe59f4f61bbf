// The records that cross layers: what a client adapter hands the engine, and what the processors
// hand the sinks. Neither knows which Kafka client is underneath.

/**
 * Headers as the clients deliver them: a header repeated on the wire arrives as an array, and a
 * header without a value (Kafka allows one) as null on kafkajs.
 */
export type InputHeaders = Record<string, Buffer | string | null | (Buffer | string | null)[] | undefined>;

/** A consumed record, as any Kafka client adapter can present it. */
export interface InputRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: InputHeaders;
}

/** Headers to produce; an array value is a header repeated on the wire, in order. */
export type OutHeaders = Record<string, string | Buffer | (string | Buffer)[]>;

const EMPTY = Buffer.alloc(0);

/**
 * A consumed header to produce again (dead letters, replays): one without a value goes out empty,
 * as @platformatic/kafka delivers it, since the sinks write no null header values.
 */
export function outHeaderValue(v: NonNullable<InputHeaders[string]> | null): string | Buffer | (string | Buffer)[] {
  if (v === null) return EMPTY;
  return Array.isArray(v) ? v.map((x) => x ?? EMPTY) : v;
}

/** A record to produce; sinks turn it into client calls. */
export interface OutRecord {
  topic: string;
  /** set for the changelog and partials (their lane's partition), and for results with output.partitioning: input; else by key hash */
  partition?: number;
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: OutHeaders;
  /** CreateTime in epoch ms as a decimal string; the producer's clock when absent */
  timestamp?: string;
}
