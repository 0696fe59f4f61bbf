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
// The library reads all four codecs itself (lz4 and snappy in WebAssembly, gzip and zstd through
// node:zlib), but a batch one of them cannot decompress fails with whatever the codec threw, which
// looks like any other failed fetch. Its decompressors are wrapped here so that such a failure
// carries SLUICE_INPUT_UNREADABLE, and the fetch loop stops on it instead of retrying forever.
import { registerHooks } from 'node:module';
import type { CompressionAlgorithmSpecification } from '@platformatic/kafka';
import { unreadableBatch } from '../fatal.ts';

const TARGET = '/@platformatic/kafka/dist/clients/consumer/consumer.js';
/** what each fix replaces, and with what */
const FIXES: readonly { broken: string; fixed: string; what: string }[] = [
  {
    broken: 'this.#filterUncommittedMessages(response);',
    fixed: '/* sluice: aborted transactions are filtered by src/clients/platformatic/fetch.ts */',
    what: 'its read_committed filter of fetch responses (dropped committed transactions)',
  },
];

/** The consumer module's source with the fixes, or an error if the library changed under us. */
export function patchConsumerSource(source: string): string {
  let out = source;
  for (const { broken, fixed, what } of FIXES) {
    if (out.includes(broken)) out = out.replaceAll(broken, fixed);
    else if (!out.includes(fixed)) throw new Error(`@platformatic/kafka's consumer no longer contains the code src/clients/platformatic/loader.ts fixes; check ${what} and update the fix`);
  }
  return out;
}

/** whether the library's consumer module was loaded through the fixes (a test checks it) */
export let consumerPatched = false;

registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    if (!url.endsWith(TARGET) || result.source === undefined) return result;
    const text = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
    consumerPatched = true;
    return { ...result, source: patchConsumerSource(text) };
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
