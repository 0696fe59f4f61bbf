// kafkajs 2.2.4 (unmaintained) drops aborted transactional records assuming the broker lists
// aborted transactions in order of their first offset. The broker lists them in the order they
// were aborted, so when transactions interleave (two producers, or a zombie and its fencer) an
// aborted transaction that started earlier but ended later is not filtered: read_committed
// consumers see aborted records. That breaks exactly-once for every transactional topic sluice
// reads (its changelogs, partials topics, and any transactional input). The Java client keeps
// the aborted transactions in a queue ordered by first offset; this does the same.
interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  batchContext: { producerId: string; inTransaction: boolean };
}

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

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
    if (message.key !== null && message.key !== undefined && Buffer.from(message.key).equals(ABORT_MARKER_KEY)) {
      aborting.delete(producerId);
      return true;
    }
    return !(aborting.has(producerId) && message.batchContext.inTransaction);
  });
}
