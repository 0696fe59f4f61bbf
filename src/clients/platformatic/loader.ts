// The one place this project imports @platformatic/kafka at runtime (as client.ts is for
// kafkajs), so that its fix is in place before the library loads. Types may be imported from
// '@platformatic/kafka' anywhere; an eslint rule keeps value imports here.
//
// The fix is to the consumer's own read_committed filter, which ran over every fetch response
// that lists aborted transactions before sluice saw it: it is switched off. It kept one range per
// producer, from the first offset the broker lists for it to the LAST abort marker of that
// producer in the response. A transaction that aborts without having written to the partition
// (it was added to the transaction, then the producer died or its produce was refused) leaves a
// marker there but no entry in the broker's list, so a producer that aborted, committed, then
// aborted such an empty transaction had its committed transaction dropped: a merge lane lost a
// source partition's partial after SIGKILLs that way, and a restore could lose changelog
// records. (It also let aborted records through when one producer aborted twice in a fetch, and
// threw on the empty control batch compaction can leave in a changelog.) sluice filters the raw
// batches itself, as the Java client does (committedRecords in fetch.ts); nothing in sluice reads
// through the library's MessagesStream, the only other reader of the filter's output.
//
// The second fix is to the idempotent (non-transactional) producer: when the broker answers a
// produce with UNKNOWN_PRODUCER_ID or OUT_OF_ORDER_SEQUENCE_NUMBER, the library took a new
// producer id and sent the same messages again. After a broker restart under concurrent sends,
// the first attempt of such a batch may already be in the log (its answer was lost), so the resend
// wrote those events twice: POST /events answered 202 for events that were on the topic twice
// (test/integration/http-ingest-restart.test.ts, once in CI). The send now fails instead, and the
// caller decides: POST /events answers 503, an at-least-once lane retries its batch.
//
// The library reads all four codecs itself (lz4 and snappy in WebAssembly, gzip and zstd through
// node:zlib), but a batch one of them cannot decompress fails with whatever the codec threw, which
// looks like any other failed fetch. Its decompressors are wrapped here so that such a failure
// carries SLUICE_INPUT_UNREADABLE, and the fetch loop stops on it instead of retrying forever.
import { registerHooks } from 'node:module';
import type { CompressionAlgorithmSpecification } from '@platformatic/kafka';
import { unreadableBatch } from '../fatal.ts';

const CONSUMER = '/@platformatic/kafka/dist/clients/consumer/consumer.js';
const PRODUCER = '/@platformatic/kafka/dist/clients/producer/producer.js';
type Fix = { broken: string; fixed: string; what: string };
/** what each fix replaces, and with what */
const CONSUMER_FIXES: readonly Fix[] = [
  {
    broken: 'this.#filterUncommittedMessages(response);',
    fixed: '/* sluice: aborted transactions are filtered by src/clients/platformatic/fetch.ts */',
    what: 'its read_committed filter of fetch responses (dropped committed transactions)',
  },
];
const PRODUCER_FIXES: readonly Fix[] = [
  {
    broken: 'if (recoverOnProducerStateLoss && !this.#transaction && this.#isProducerStateLost(error)) {',
    fixed: 'if (/* sluice: no resend under a new producer id */ false) {',
    what: 'the idempotent producer resending a batch under a new producer id (wrote events twice)',
  },
];

function patchSource(source: string, fixes: readonly Fix[], module: string): string {
  let out = source;
  for (const { broken, fixed, what } of fixes) {
    if (out.includes(broken)) out = out.replaceAll(broken, fixed);
    else if (!out.includes(fixed)) throw new Error(`@platformatic/kafka's ${module} no longer contains the code src/clients/platformatic/loader.ts fixes; check ${what} and update the fix`);
  }
  return out;
}

/** The consumer module's source with the fixes, or an error if the library changed under us. */
export const patchConsumerSource = (source: string): string => patchSource(source, CONSUMER_FIXES, 'consumer');
/** The producer module's source with the fixes, or an error if the library changed under us. */
export const patchProducerSource = (source: string): string => patchSource(source, PRODUCER_FIXES, 'producer');

/** whether the library's consumer and producer modules were loaded through the fixes (a test checks it) */
export const patched = { consumer: false, producer: false };

registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    const module = url.endsWith(CONSUMER) ? 'consumer' : url.endsWith(PRODUCER) ? 'producer' : undefined;
    if (module === undefined || result.source === undefined) return result;
    const text = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
    patched[module] = true;
    return { ...result, source: module === 'consumer' ? patchConsumerSource(text) : patchProducerSource(text) };
  },
});

export const platformaticKafka = await import('@platformatic/kafka');

for (const [name, algorithm] of Object.entries(platformaticKafka.compressionsAlgorithms as Record<string, CompressionAlgorithmSpecification>)) {
  if (name === 'none') continue;
  const decompress = algorithm.decompressSync;
  algorithm.decompressSync = (data) => {
    try {
      return decompress(data);
    } catch (err) {
      throw unreadableBatch(name, err);
    }
  };
}
