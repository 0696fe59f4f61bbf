import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changelogEnd, chunkBatch, chunkByBytes, recordBytes } from '../../../src/sinks/records.ts';
import type { OutRecord } from '../../../src/model/records.ts';

const payload = fc.oneof(fc.constant(null), fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)));

const recordArb: fc.Arbitrary<OutRecord> = fc.record(
  {
    topic: fc.constantFrom('out', 'dlq', 'changelog'),
    key: payload,
    value: payload,
    headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))), { maxKeys: 3 }),
  },
  { requiredKeys: ['topic', 'key', 'value'] },
);

const sum = (rs: readonly OutRecord[]): number => rs.reduce((n, r) => n + recordBytes(r), 0);

describe('chunkByBytes', () => {
  it('keeps order, loses nothing, and stays within the bound unless a record is alone', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 60 }), fc.integer({ min: 1, max: 3000 }), (records, maxBytes) => {
        const chunks = chunkByBytes(records, maxBytes);
        expect(chunks.flat()).toEqual(records);
        // Identity, not just equality: the sink must send the very records it was given.
        chunks.flat().forEach((r, i) => expect(r).toBe(records[i]));
        for (const chunk of chunks) {
          expect(chunk.length).toBeGreaterThan(0);
          if (chunk.length > 1) expect(sum(chunk)).toBeLessThanOrEqual(maxBytes);
        }
        // Greedy: a chunk only ends because the next record would not have fit.
        for (let i = 0; i + 1 < chunks.length; i++) expect(sum(chunks[i]!) + recordBytes(chunks[i + 1]![0]!)).toBeGreaterThan(maxBytes);
      }),
      { numRuns: 300 },
    );
  });

  it('an oversized record travels alone, between its neighbours', () => {
    const small = (k: string): OutRecord => ({ topic: 'out', key: k, value: 'v' });
    const big: OutRecord = { topic: 'out', key: 'big', value: 'x'.repeat(500) };
    const chunks = chunkByBytes([small('a'), small('b'), big, small('c')], 200);
    expect(chunks.map((c) => c.map((r) => r.key))).toEqual([['a', 'b'], ['big'], ['c']]);
  });

  it('no records, no chunks', () => {
    expect(chunkByBytes([], 100)).toEqual([]);
  });
});

describe('recordBytes', () => {
  it('counts keys and values in UTF-8 bytes plus a fixed overhead', () => {
    expect(recordBytes({ topic: 't', key: null, value: null })).toBe(70);
    expect(recordBytes({ topic: 't', key: 'é', value: Buffer.alloc(5) })).toBe(70 + 2 + 5);
    expect(recordBytes({ topic: 't', key: null, value: null, headers: { h: 'abc', b: Buffer.alloc(4) } })).toBe(70 + (1 + 10 + 3) + (1 + 10 + 4));
  });

  // A dead letter's sluice.detail may quote non-ASCII input; undercounting it could overfill a chunk.
  it('counts string headers in UTF-8 bytes, as it does keys and values', () => {
    const detail = '€'.repeat(500);
    expect(recordBytes({ topic: 't', key: null, value: null, headers: { d: detail } })).toBe(70 + 1 + 10 + Buffer.byteLength(detail));
  });
});

describe('chunkBatch', () => {
  it('cuts outputs then changelog as chunkByBytes cuts them together, each chunk counting its changelog tail', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 30 }), fc.array(recordArb, { maxLength: 30 }), fc.integer({ min: 1, max: 3000 }), (outputs, changelog, maxBytes) => {
        const chunks = chunkBatch(outputs, changelog, maxBytes);
        expect(chunks.map((c) => c.records)).toEqual(chunkByBytes([...outputs, ...changelog], maxBytes));
        expect(chunks.reduce((n, c) => n + c.changelogRecords, 0)).toBe(changelog.length);
        for (const c of chunks) expect(c.records.slice(c.records.length - c.changelogRecords)).toEqual(changelog.filter((r) => c.records.includes(r)));
      }),
    );
  });

  it("ends the changelog after a send's base offset plus the chunk's changelog records", () => {
    const out: OutRecord = { topic: 'out', key: 'k', value: 'v' };
    const log: OutRecord = { topic: 'changelog', partition: 3, key: 's', value: 'x' };
    const [chunk] = chunkBatch([out], [log, log], 1_000_000);
    expect(changelogEnd(chunk!, [{ topic: 'out', partition: 0, baseOffset: '7' }, { topic: 'changelog', partition: 3, baseOffset: '40' }])).toBe('42');
    expect(changelogEnd(chunkBatch([out], [], 1_000_000)[0]!, [{ topic: 'out', partition: 0, baseOffset: '7' }])).toBeUndefined();
    expect(changelogEnd(chunk!, [{ topic: 'changelog', partition: 3, baseOffset: '-1' }])).toBeUndefined();
  });
});
