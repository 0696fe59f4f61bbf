// kafkajs 2.2.4 (unmaintained) drops aborted transactional records assuming the broker lists
// aborted transactions in order of their first offset. The broker lists them in the order they
// were aborted, so when transactions interleave (two producers, or a zombie and its fencer) an
// aborted transaction that started earlier but ended later is not filtered: read_committed
// consumers see aborted records. That breaks exactly-once for every transactional topic sluice
// reads (its changelogs, partials topics, and any transactional input). The Java client keeps
// the aborted transactions in a queue ordered by first offset; this does the same.
//
// kafkajs also took any record keyed 00 00 00 00 for an abort marker, so a data record with that
// key ended its producer's aborted transaction early and let the rest of it through. A marker is
// the one record of a control batch (batch attribute bit 5), as the Java client reads it.
interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  /** what kafkajs's record batch decoder attaches to every record it decodes */
  batchContext: { producerId: string; inTransaction: boolean; isControlBatch?: boolean };
}

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/** A control record's key is (version: int16, type: int16); type 0 is ABORT. */
function isAbortMarker(message: FetchedMessage): boolean {
  if (message.batchContext.isControlBatch !== true || message.key === null || message.key === undefined) return false;
  const key = Buffer.from(message.key);
  return key.length >= 4 && key.readInt16BE(2) === 0;
}

export function filterAbortedMessages({ messages, abortedTransactions }: { messages: FetchedMessage[]; abortedTransactions?: AbortedTransaction[] }): FetchedMessage[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => {
    const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  let next = 0;
  const aborting = new Set<string>();
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    // Several aborted transactions may start at or before this record.
    while (next < pending.length && offset >= BigInt(pending[next]!.firstOffset)) aborting.add(String(pending[next++]!.producerId));
    const producerId = String(message.batchContext.producerId);
    if (isAbortMarker(message)) {
      aborting.delete(producerId);
      return true;
    }
    return !(aborting.has(producerId) && message.batchContext.inTransaction);
  });
}
