import { describe, expect, it } from 'vitest';
import { toRecords, UnparseableBody } from '../../../src/http/ingest.ts';

const target = { topic: 'in', keyField: 'playerId', maxRecordBytes: 200, format: 'json' };
const body = (text: string) => Buffer.from(text);

describe('POST /events bodies', () => {
  it('takes one object, keyed by the input key field', () => {
    expect(toRecords(body('{"playerId":"p1","points":3}'), 'application/json', target)).toEqual({
      records: [{ topic: 'in', key: 'p1', value: '{"playerId":"p1","points":3}' }],
      rejected: [],
    });
  });

  it('takes an array, and rejects by index the items that are not objects or lack a usable key', () => {
    const items = [{ playerId: 7 }, 'text', { points: 1 }, { playerId: null }, { playerId: { a: 1 } }, [1], { playerId: true }];
    const batch = toRecords(body(JSON.stringify(items)), 'application/json; charset=utf-8', target);
    expect(batch.records.map((r) => r.key)).toEqual(['7', 'true']);
    expect(batch.rejected).toEqual([
      { index: 1, reason: 'not a JSON object' },
      { index: 2, reason: 'key field "playerId" is missing or null' },
      { index: 3, reason: 'key field "playerId" is missing or null' },
      { index: 4, reason: 'key field "playerId" must be a string, a finite number or a boolean' },
      { index: 5, reason: 'not a JSON object' },
    ]);
  });

  it('does not read the key field through the prototype', () => {
    const batch = toRecords(body('{"a":1}'), 'application/json', { ...target, keyField: 'constructor' });
    expect(batch.rejected).toEqual([{ index: 0, reason: 'key field "constructor" is missing or null' }]);
  });

  it('takes NDJSON by its content type, rejecting bad lines by line number and skipping blank ones', () => {
    const batch = toRecords(body('{"playerId":"a"}\n\n{oops\n{"playerId":"b"}\n'), 'application/x-ndjson', target);
    expect(batch.records.map((r) => r.key)).toEqual(['a', 'b']);
    expect(batch.rejected).toEqual([{ index: 2, reason: expect.stringMatching(/^not JSON/) }]);
  });

  it('rejects events the pipeline would dead-letter as oversized', () => {
    const batch = toRecords(body(JSON.stringify([{ playerId: 'a', pad: 'x'.repeat(300) }, { playerId: 'b' }])), 'application/json', target);
    expect(batch.records.map((r) => r.key)).toEqual(['b']);
    expect(batch.rejected).toEqual([{ index: 0, reason: 'larger than input.maxRecordBytes (200)' }]);
  });

  it('refuses bodies that are not JSON, or JSON that is neither object nor array', () => {
    expect(() => toRecords(body('{"playerId":'), 'application/json', target)).toThrow(UnparseableBody);
    expect(() => toRecords(body('{"playerId":"a"}\n{"playerId":"b"}'), undefined, target)).toThrow(/send NDJSON as application\/x-ndjson/);
    expect(() => toRecords(body('42'), 'application/json', target)).toThrow(UnparseableBody);
    expect(() => toRecords(body(''), 'application/json', target)).toThrow(UnparseableBody);
  });
});
