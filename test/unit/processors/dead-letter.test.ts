import { describe, expect, it } from 'vitest';
import { DLQ_HEADER, deadLetterRecord } from '../../../src/processors/dead-letter.ts';
import type { DeadLetterOrigin } from '../../../src/processors/dead-letter.ts';
import { recordBytes } from '../../../src/sinks/records.ts';

const origin = (over: Partial<DeadLetterOrigin> = {}): DeadLetterOrigin => ({
  topic: 'events',
  partition: 4,
  offset: '1234',
  timestamp: '1700000000000',
  key: Buffer.from('player-1'),
  value: Buffer.from('{"broken'),
  headers: undefined,
  ...over,
});

describe('deadLetterRecord', () => {
  it('takes headers without a value (null, as kafkajs delivers them) as empty ones, so the sink can size and write it', () => {
    const dl = deadLetterRecord('events.dlq', origin({ headers: { bare: null, repeated: [null, Buffer.from('x')] } }), 'invalid-json', undefined, 'not JSON');
    expect(dl.headers).toMatchObject({ bare: Buffer.alloc(0), repeated: [Buffer.alloc(0), Buffer.from('x')] });
    expect(recordBytes(dl)).toBeGreaterThan(0);
  });

  it('carries the input key and value untouched plus reason, field, detail and origin headers', () => {
    const o = origin();
    const dl = deadLetterRecord('events.dlq', o, 'missing-field', 'ts', 'event-time field "ts" is missing or null');
    expect(dl.topic).toBe('events.dlq');
    expect(dl.partition).toBeUndefined();
    expect(dl.key).toBe(o.key);
    expect(dl.value).toBe(o.value);
    expect(dl.headers).toEqual({
      [DLQ_HEADER.reason]: 'missing-field',
      [DLQ_HEADER.field]: 'ts',
      [DLQ_HEADER.detail]: 'event-time field "ts" is missing or null',
      [DLQ_HEADER.topic]: 'events',
      [DLQ_HEADER.partition]: '4',
      [DLQ_HEADER.offset]: '1234',
      [DLQ_HEADER.timestamp]: '1700000000000',
      [DLQ_HEADER.stage]: 'decode',
    });
  });

  it('names the stage that rejected the record', () => {
    const stage = (reason: string) => deadLetterRecord('dlq', origin(), reason, undefined, 'why').headers![DLQ_HEADER.stage];
    expect(['oversized', 'invalid-json', 'missing-field', 'invalid-id', 'invalid-event-time', 'invalid-group', 'not-a-number', 'key-mismatch'].map(stage)).toEqual(Array(8).fill('decode'));
    expect(stage('invalid')).toBe('normalize');
    expect(stage('late')).toBe('window');
  });

  it('uses the documented header names', () => {
    expect(DLQ_HEADER).toEqual({
      reason: 'sluice.reason',
      field: 'sluice.field',
      detail: 'sluice.detail',
      topic: 'sluice.origin.topic',
      partition: 'sluice.origin.partition',
      offset: 'sluice.origin.offset',
      timestamp: 'sluice.origin.timestamp',
      stage: 'sluice.stage',
    });
  });

  it('omits the field header when there is no field, and keeps null key and value', () => {
    const dl = deadLetterRecord('dlq', origin({ key: null, value: null }), 'invalid-json', undefined, 'value is empty');
    expect(dl.key).toBeNull();
    expect(dl.value).toBeNull();
    expect(dl.headers).not.toHaveProperty(DLQ_HEADER.field);
  });

  it('truncates the detail after 500 characters and marks the cut', () => {
    const at = (n: number) => deadLetterRecord('dlq', origin(), 'late', undefined, 'x'.repeat(n)).headers![DLQ_HEADER.detail] as string;
    expect(at(500)).toBe('x'.repeat(500));
    expect(at(501)).toBe(`${'x'.repeat(500)}…`);
    expect(at(5000)).toBe(`${'x'.repeat(500)}…`);
  });

  it('preserves original headers, a repeated one with every value in order, and skips undefined ones', () => {
    const bin = Buffer.from([0, 1, 2]);
    const dl = deadLetterRecord(
      'dlq',
      origin({ headers: { trace: 'abc', bin, multi: ['first', Buffer.from('last')], gone: undefined, empty: [] } }),
      'not-a-number',
      'points',
      'needs a number',
    );
    expect(dl.headers!.trace).toBe('abc');
    expect(dl.headers!.bin).toBe(bin);
    expect(dl.headers!.multi).toEqual(['first', Buffer.from('last')]);
    expect(dl.headers!.empty).toEqual([]);
    expect(dl.headers).not.toHaveProperty('gone');
    expect(dl.headers![DLQ_HEADER.reason]).toBe('not-a-number');
  });

  it('sluice headers win over input headers of the same name', () => {
    const dl = deadLetterRecord('dlq', origin({ headers: { [DLQ_HEADER.reason]: 'spoofed', [DLQ_HEADER.offset]: '0' } }), 'late', undefined, 'late');
    expect(dl.headers![DLQ_HEADER.reason]).toBe('late');
    expect(dl.headers![DLQ_HEADER.offset]).toBe('1234');
  });
});
