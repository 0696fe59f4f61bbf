// Record batch compression for kafkajs, which implements only gzip: a batch written with snappy,
// lz4 (the common choice of Java producers and of `kcat -z lz4`) or zstd made its consumer crash.
// These are thin adapters over codec packages; loader.ts puts them into kafkajs's codec table
// before anything uses kafkajs, so every consumer and producer of the process has all four.
// @platformatic/kafka implements all four itself (platformatic/loader.ts only tags its decode failures).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { compressFrameSync, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';
import { COMPRESSION_IDS } from '../port.ts';
import type { CompressionName } from '../port.ts';
import { unreadableBatch } from '../fatal.ts';

/** kafkajs's codec interface: it hands `compress` an Encoder and `decompress` the batch's records bytes. */
export interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// Java producers write snappy through snappy-java's stream format: a magic header, then blocks
// each prefixed by its length. librdkafka and both JavaScript clients write one raw block, which
// the Java client reads too; so write raw and read both.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** magic, version, compatible version */
const XERIAL_HEADER_BYTES = 16;

async function snappyBlock(block: Buffer): Promise<Buffer> {
  return (await snappyUncompress(block, { asBuffer: true })) as Buffer;
}

async function snappyDecompress(buffer: Buffer): Promise<Buffer> {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappyBlock(buffer);
  const blocks: Buffer[] = [];
  for (let at = XERIAL_HEADER_BYTES; at < buffer.length; ) {
    if (at + 4 > buffer.length) throw new Error('truncated snappy-java block length');
    const length = buffer.readUInt32BE(at);
    at += 4;
    if (at + length > buffer.length) throw new Error('truncated snappy-java block');
    blocks.push(await snappyBlock(buffer.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(blocks);
}

function codec(name: string, compress: (data: Buffer) => Promise<Buffer>, decompress: (data: Buffer) => Promise<Buffer>): KafkajsCodec {
  return {
    compress: (encoder) => compress(encoder.buffer),
    async decompress(buffer) {
      try {
        return await decompress(buffer);
      } catch (err) {
        throw unreadableBatch(name, err);
      }
    },
  };
}

/**
 * gzip replaces kafkajs's own only so that its decode failures carry the same error code.
 * lz4 is the LZ4 frame format (magic 04 22 4D 18, independent blocks), which Kafka requires for
 * record batches of format v2. It compresses on the calling thread: lz4-napi's asynchronous
 * compressFrame hands every record batch to libuv's thread pool and back, which cost more than
 * the compression (a lane's transaction writes up to one batch per partition). On the hot path
 * the synchronous call took 8% less CPU per event at caught-up transaction sizes and drained 8-18%
 * more events/s in bulk (bench/in-process/hot-path.ts, alternating runs).
 */
export const KAFKAJS_CODECS: Readonly<Record<Exclude<CompressionName, 'none'>, KafkajsCodec>> = {
  gzip: codec('gzip', promisify(zlib.gzip), promisify(zlib.unzip)),
  snappy: codec('snappy', (data) => snappyCompress(data), snappyDecompress),
  lz4: codec('lz4', async (data) => compressFrameSync(data), (data) => decompressFrame(data)),
  zstd: codec('zstd', promisify(zlib.zstdCompress), promisify(zlib.zstdDecompress)),
};

/** Fills kafkajs's codec table (`CompressionCodecs`), which it reads at every compress and decompress. */
export function registerKafkajsCodecs(table: Record<number, () => unknown>): void {
  for (const [name, implementation] of Object.entries(KAFKAJS_CODECS)) table[COMPRESSION_IDS[name as CompressionName]] = () => implementation;
}
