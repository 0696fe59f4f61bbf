// The one place this project imports @platformatic/kafka at runtime (as client.ts is for
// kafkajs), so that its fix is in place before the library loads. Types may be imported from
// '@platformatic/kafka' anywhere; an eslint rule keeps value imports here.
//
// The fix: when a read_committed fetch response lists aborted transactions, the consumer runs
// its own filter over every record batch of the partition and reads `batch.records[0].key`.
// Compaction keeps a producer's last batch even when it empties it, so a compacted changelog can
// hold an empty control batch, and that read throws inside the socket callback: an uncaught
// exception that kills the process on every restore that reaches it. sluice filters aborted
// records itself (fetch.ts); this only keeps the library's filter from crashing.
//
// The library reads all four codecs itself (lz4 and snappy in WebAssembly, gzip and zstd through
// node:zlib), but a batch one of them cannot decompress fails with whatever the codec threw, which
// looks like any other failed fetch. Its decompressors are wrapped here so that such a failure
// carries SLUICE_INPUT_UNREADABLE, and the fetch loop stops on it instead of retrying forever.
import { registerHooks } from 'node:module';
import type { CompressionAlgorithmSpecification } from '@platformatic/kafka';
import { unreadableBatch } from '../fatal.ts';

const TARGET = '/@platformatic/kafka/dist/clients/consumer/consumer.js';
const BROKEN = 'batch.records[0].key?.readInt16BE(2)';
const FIXED = 'batch.records[0]?.key?.readInt16BE(2)';

/** The consumer module's source with the fix, or an error if the library changed under us. */
export function patchConsumerSource(source: string): string {
  if (source.includes(BROKEN)) return source.replaceAll(BROKEN, FIXED);
  if (source.includes(FIXED)) return source;
  throw new Error(`@platformatic/kafka's consumer no longer contains the code src/clients/platformatic/loader.ts fixes; check its read_committed filter for empty control batches and update the fix`);
}

/** whether the library's consumer module was loaded through the fix (a test checks it) */
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
