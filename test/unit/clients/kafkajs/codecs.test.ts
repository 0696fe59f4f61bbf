// Record batch codecs without a broker: what kafkajs writes with sluice's codecs, kafkajs and
// @platformatic/kafka both read, and the other way round; snappy as Java producers frame it; and a
// batch no codec can read fails with SLUICE_INPUT_UNREADABLE, which is what stops the consumer.
import { createRequire } from 'node:module';
import { compress as snappyCompress } from 'snappy';
import { describe, expect, it } from 'vitest';
import { CompressionTypes } from '../../../../src/clients/kafkajs/loader.ts';
import { KAFKAJS_CODECS } from '../../../../src/clients/kafkajs/codecs.ts';
import { COMPRESSION_IDS } from '../../../../src/clients/port.ts';
import type { CompressionName } from '../../../../src/clients/port.ts';
import { findUnreadable } from '../../../../src/clients/fatal.ts';
import { platformaticKafka } from '../../../../src/clients/platformatic/loader.ts';
import { sizedRecord } from '../../../../src/clients/kafkajs/record-encoding.ts';

const require = createRequire(import.meta.url);
type KafkajsBatch = (args: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: KafkajsBatch };
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{ records: { key: Buffer; value: Buffer; offset: string }[] }>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const { NumericMap, Reader, createRecordsBatch, readRecordsBatch } = platformaticKafka;

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const satisfies readonly CompressionName[];
const VALUES = Array.from({ length: 300 }, (_, i) => JSON.stringify({ playerId: `p${i % 17}`, eventId: `e${i}`, points: i % 40, action: i % 3 === 0 ? 'jump' : 'run' }));

/** A batch as sluice's kafkajs producer writes it (the patched encoder, the registered codecs). */
async function kafkajsBatch(codec: CompressionName): Promise<Buffer> {
  const records = VALUES.map((v, i) => sizedRecord({ key: `k${i}`, value: v, offsetDelta: i, timestampDelta: i }));
  return (await RecordBatch({ compression: COMPRESSION_IDS[codec], firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_299, lastOffsetDelta: VALUES.length - 1, records })).buffer;
}

describe('record batch codecs', () => {
  it('are in kafkajs\'s codec table under Kafka\'s codec ids', () => {
    const { lookupCodec } = require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodec(t: number): unknown };
    for (const codec of CODECS) expect(lookupCodec(COMPRESSION_IDS[codec])).toBe(KAFKAJS_CODECS[codec]);
    expect(COMPRESSION_IDS).toMatchObject({ gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD });
  });

  it.each(CODECS)('%s: a batch kafkajs writes, kafkajs and @platformatic/kafka both read', async (codec) => {
    const batch = await kafkajsBatch(codec);
    expect(batch.readInt16BE(21) & 0x07, 'the batch says its codec').toBe(COMPRESSION_IDS[codec]);
    const viaKafkajs = await decodeBatch(new Decoder(batch));
    expect(viaKafkajs.records.map((r) => r.value.toString())).toEqual(VALUES);
    const viaPlatformatic = readRecordsBatch(Reader.from(batch));
    expect(viaPlatformatic.records.map((r) => r.value?.toString())).toEqual(VALUES);
  });

  it.each(CODECS)('%s: a batch @platformatic/kafka writes, kafkajs reads', async (codec) => {
    const messages = VALUES.map((v, i) => ({ topic: 't', key: Buffer.from(`k${i}`), value: Buffer.from(v) }));
    const batch = createRecordsBatch(messages, { compression: codec, producerId: -1n, producerEpoch: -1, sequences: new NumericMap(), partitionLeaderEpoch: 0 }).buffer;
    expect(batch.readInt16BE(21) & 0x07).toBe(COMPRESSION_IDS[codec]);
    const decoded = await decodeBatch(new Decoder(batch));
    expect(decoded.records.map((r) => r.value.toString())).toEqual(VALUES);
  });

  it('lz4 writes the LZ4 frame format Kafka requires', async () => {
    const frame = await KAFKAJS_CODECS.lz4.compress({ buffer: Buffer.from(VALUES.join('')) });
    expect(frame.subarray(0, 4).toString('hex')).toBe('04224d18');
  });

  it('snappy reads snappy-java\'s framing, as Java producers write it, as well as a raw block', async () => {
    const text = Buffer.from(VALUES.join('\n'));
    const halves = [text.subarray(0, 5000), text.subarray(5000)];
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const blocks = await Promise.all(halves.map((h) => snappyCompress(h)));
    const lengthOf = (b: Buffer) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(b.length);
      return prefix;
    };
    const framed = Buffer.concat([header, ...blocks.flatMap((b) => [lengthOf(b), b])]);
    expect((await KAFKAJS_CODECS.snappy.decompress(framed)).equals(text)).toBe(true);
    expect((await KAFKAJS_CODECS.snappy.decompress(await snappyCompress(text))).equals(text)).toBe(true);
  });

  it.each(CODECS)('%s: a batch that cannot be decompressed fails with SLUICE_INPUT_UNREADABLE on both clients', async (codec) => {
    const batch = await kafkajsBatch(codec);
    // Garble the compressed records (after the 61-byte header) but keep the header.
    const garbled = Buffer.from(batch);
    garbled.fill(0x5a, 61 + 8);
    const fromKafkajs = await decodeBatch(new Decoder(garbled)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(findUnreadable(fromKafkajs)?.code).toBe('SLUICE_INPUT_UNREADABLE');
    // kafkajs's retrier reads this: false means no retry, and no restart of the consumer.
    expect((fromKafkajs as { retriable?: boolean }).retriable).toBe(false);
    let fromPlatformatic: unknown;
    try {
      readRecordsBatch(Reader.from(garbled));
    } catch (err) {
      fromPlatformatic = err;
    }
    expect(findUnreadable(fromPlatformatic)?.message).toMatch(new RegExp(`^a ${codec}-compressed record batch cannot be decompressed`));
  });
});
