// Dead letters carry the input record untouched (key, value, headers) plus why and where from,
// so an operator can inspect, fix and replay them without a lookup anywhere else.
import { outHeaderValue } from '../model/records.ts';
import type { InputHeaders, OutHeaders, OutRecord } from '../model/records.ts';

export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: InputHeaders | undefined;
}

export const DLQ_HEADER = {
  reason: 'sluice.reason',
  field: 'sluice.field',
  detail: 'sluice.detail',
  topic: 'sluice.origin.topic',
  partition: 'sluice.origin.partition',
  offset: 'sluice.origin.offset',
  timestamp: 'sluice.origin.timestamp',
  stage: 'sluice.stage',
} as const;

/** The stage that rejects a record for each reason; `decode` for any reason not listed. */
const STAGE_OF_REASON: ReadonlyMap<string, string> = new Map([
  ['invalid', 'normalize'],
  ['enrich-miss', 'enrich'],
  ['late', 'window'],
  ['state-limit', 'window'],
]);

function stageOf(reason: string): string {
  return STAGE_OF_REASON.get(reason) ?? 'decode';
}

export function deadLetterRecord(dlqTopic: string, origin: DeadLetterOrigin, reason: string, field: string | undefined, detail: string): OutRecord {
  const headers: OutHeaders = {};
  if (origin.headers) {
    for (const k in origin.headers) {
      const v = origin.headers[k];
      // A header repeated on the wire stays repeated, in order.
      if (v !== undefined) headers[k] = outHeaderValue(v);
    }
  }
  headers[DLQ_HEADER.reason] = reason;
  headers[DLQ_HEADER.stage] = stageOf(reason);
  if (field !== undefined) headers[DLQ_HEADER.field] = field;
  headers[DLQ_HEADER.detail] = detail.length > 500 ? `${detail.slice(0, 500)}…` : detail;
  headers[DLQ_HEADER.topic] = origin.topic;
  headers[DLQ_HEADER.partition] = String(origin.partition);
  headers[DLQ_HEADER.offset] = origin.offset;
  headers[DLQ_HEADER.timestamp] = origin.timestamp;
  return { topic: dlqTopic, key: origin.key, value: origin.value, headers };
}
