// POST /events bodies: one JSON object, a JSON array of them, or NDJSON (one object a line). Each
// item becomes one input record keyed like an upstream producer keys it: the record key is the
// value of the input.key field, which the pipeline checks against the key of every record it reads
// (key-mismatch otherwise), and which the Java-compatible partitioner maps to the partition.
import type { OutRecord } from '../model/records.ts';

export const NDJSON_TYPE = 'application/x-ndjson';

export interface RejectedItem {
  /** the item's position in the array, or its line (0-based) in an NDJSON body */
  index: number;
  reason: string;
}

export interface IngestBatch {
  records: OutRecord[];
  rejected: RejectedItem[];
}

export interface IngestTarget {
  topic: string;
  keyField: string;
  /** the pipeline's input.maxRecordBytes: a larger event would only be dead-lettered as oversized */
  maxRecordBytes: number;
  /**
   * the pipeline's input.format: events are written as plain JSON, which a pipeline reading a
   * registry format would dead-letter one by one, so POST /events takes them for `json` only
   */
  format: string;
}

/** The body cannot be read as events at all: answered with 400 and this message. */
export class UnparseableBody extends Error {}

/** The body's items, each either a parsed value or why its NDJSON line is not JSON. */
type Items = { index: number; value: unknown; parseError?: string }[];

function parseNdjson(text: string): Items {
  const items: Items = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      items.push({ index, value: JSON.parse(line) });
    } catch (err) {
      items.push({ index, value: undefined, parseError: `not JSON: ${(err as Error).message}` });
    }
  });
  return items;
}

function parseJson(text: string): Items {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UnparseableBody(`body is not JSON: ${(err as Error).message} (send NDJSON as ${NDJSON_TYPE})`);
  }
  if (Array.isArray(value)) return value.map((v, index) => ({ index, value: v }));
  if (typeof value === 'object' && value !== null) return [{ index: 0, value }];
  throw new UnparseableBody('body must be a JSON object, an array of objects, or NDJSON');
}

/** The media type without parameters (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Why an event cannot go to the input topic, or its record key. */
function keyOf(value: unknown, keyField: string): { key: string } | { reason: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'not a JSON object' };
  const raw = Object.hasOwn(value, keyField) ? (value as Record<string, unknown>)[keyField] : undefined;
  if (raw === undefined || raw === null) return { reason: `key field "${keyField}" is missing or null` };
  if (typeof raw === 'string' || typeof raw === 'boolean' || (typeof raw === 'number' && Number.isFinite(raw))) return { key: String(raw) };
  return { reason: `key field "${keyField}" must be a string, a finite number or a boolean` };
}

export function toRecords(body: Buffer, contentType: string | undefined, target: IngestTarget): IngestBatch {
  const text = body.toString('utf8');
  const items = mediaType(contentType) === NDJSON_TYPE ? parseNdjson(text) : parseJson(text);
  const records: OutRecord[] = [];
  const rejected: RejectedItem[] = [];
  for (const { index, value, parseError } of items) {
    if (parseError !== undefined) {
      rejected.push({ index, reason: parseError });
      continue;
    }
    const key = keyOf(value, target.keyField);
    if ('reason' in key) {
      rejected.push({ index, reason: key.reason });
      continue;
    }
    const encoded = JSON.stringify(value);
    if (Buffer.byteLength(encoded) > target.maxRecordBytes) {
      rejected.push({ index, reason: `larger than input.maxRecordBytes (${target.maxRecordBytes})` });
      continue;
    }
    records.push({ topic: target.topic, key: key.key, value: encoded });
  }
  return { records, rejected };
}
