// How a record value becomes the event object that validation reads: plain JSON, or a Confluent
// wire format whose schema comes from a registry. Decoding runs per record on the hot path, so it
// is synchronous; what it needs from the network (schemas by id) is fetched per batch beforehand.
import type { InputRecord } from './records.ts';

/** Why a value could not become an event object: the `sluice.reason` of its dead letter. */
export type ValueFailureReason = 'invalid-json' | 'invalid-wire-format' | 'unknown-schema' | 'undecodable' | 'schema-violation';

export type DecodedValue = { ok: true; event: Record<string, unknown> } | { ok: false; reason: ValueFailureReason; detail: string };

export type ValueDecoder = (value: Buffer | null) => DecodedValue;

export interface InputFormat {
  readonly decodeValue: ValueDecoder;
  /** Loads what decodeValue needs for these records (the schemas their ids name); rejects only when the source of schemas fails, never for a bad record. */
  prepare?(records: readonly InputRecord[]): Promise<void>;
}

/** One window result, as the output contract describes it (docs/output.md), for encoders other than JSON. */
export interface WindowResult {
  window: string;
  /** groupBy field -> value */
  group: Record<string, unknown>;
  start: number;
  end: number;
  final: boolean;
  /** aggregate name -> result, shaped as docs/output.md shows each aggregate's */
  values: Record<string, unknown>;
  /** `idle` on a final that closeIdleAfter wrote; absent when stream time closed the window */
  closedBy?: 'idle';
}

/** Encodes a result's value, synchronously (it runs inside a batch); JSON, the default, is built in. */
export type OutputValueEncoder = (result: WindowResult) => Buffer;
