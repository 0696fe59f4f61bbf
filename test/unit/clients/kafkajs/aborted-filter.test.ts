// kafkajs assumed the broker lists aborted transactions by first offset; it lists them by abort
// order. These cases come from a real log where that let aborted records through read_committed.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { filterAbortedMessages } from '../../../../src/clients/kafkajs/aborted-filter.ts';
import '../../../../src/clients/kafkajs/loader.ts';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
/** A record as kafkajs decodes it; transaction markers (ABORT, COMMIT keys) come in control batches. */
const msg = (offset: number, producerId: number, key: Buffer | null = null, inTransaction = true) => ({
  offset: String(offset),
  key,
  batchContext: { producerId: String(producerId), inTransaction, isControlBatch: key === ABORT || key === COMMIT },
});
/** a data record, in a transactional batch, whose key happens to read like an abort marker */
const dataKeyedLikeAbort = (offset: number, producerId: number) => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 0]), batchContext: { producerId: String(producerId), inTransaction: true, isControlBatch: false } });

describe('filterAbortedMessages', () => {
  // Output partition of a crash test: 348 aborted 225-248 (marker 295) after 346 aborted 274-291 (marker 294).
  const messages = [msg(225, 348), msg(248, 348), msg(249, 347), msg(264, 349), msg(274, 346), msg(291, 346), msg(292, 347, COMMIT), msg(293, 349, COMMIT), msg(294, 346, ABORT), msg(295, 348, ABORT), msg(296, 347)];
  const aborted = [
    { producerId: '346', firstOffset: '274' },
    { producerId: '348', firstOffset: '225' },
  ];

  it('drops every aborted record whatever order the broker lists the aborted transactions in', () => {
    const kept = filterAbortedMessages({ messages, abortedTransactions: aborted }).map((m) => Number(m.offset));
    expect(kept).toEqual([249, 264, 292, 293, 294, 295, 296]);
    const reversed = filterAbortedMessages({ messages, abortedTransactions: [...aborted].reverse() }).map((m) => Number(m.offset));
    expect(reversed).toEqual(kept);
  });

  it('keeps a producer\'s later committed transaction after its abort marker', () => {
    const kept = filterAbortedMessages({ messages: [msg(10, 1), msg(11, 1, ABORT), msg(12, 1), msg(13, 1, COMMIT)], abortedTransactions: [{ producerId: '1', firstOffset: '10' }] });
    expect(kept.map((m) => Number(m.offset))).toEqual([11, 12, 13]);
  });

  it('takes a record keyed 00 00 00 00 for an abort marker only in a control batch', () => {
    // Producer 5 aborts 20-23 (marker at 24), then commits 25-26 (marker at 27). Its data records
    // at 21 and 25 are keyed 00 00 00 00: the first must not end the aborted transaction early.
    const messages = [msg(20, 5), dataKeyedLikeAbort(21, 5), msg(22, 5), msg(23, 5), msg(24, 5, ABORT), dataKeyedLikeAbort(25, 5), msg(26, 5), msg(27, 5, COMMIT)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '5', firstOffset: '20' }] });
    expect(kept.map((m) => Number(m.offset))).toEqual([24, 25, 26, 27]);
  });

  it('is what kafkajs uses once src/clients/kafkajs/loader.ts is loaded', () => {
    const require = createRequire(import.meta.url);
    expect(require('kafkajs/src/consumer/filterAbortedMessages.js')).toBe(filterAbortedMessages);
  });
});
