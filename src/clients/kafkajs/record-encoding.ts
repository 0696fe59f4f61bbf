// kafkajs encodes every produced record into its own 512-byte Encoder, every varint through a
// fresh `Buffer.from([...])` and every varlong through BigInt-backed Long objects, then copies the
// records into a batch buffer that grows by doubling, and that into two more. On the bench's hot
// path (bench/in-process/hot-path.ts, heap sampling) that was 40% of all bytes allocated per event.
// This replaces the v2 record and record batch encoders used by the produce request: records
// become small size descriptors, and an uncompressed batch is written once into one buffer of
// exactly its size; a compressed one writes its records once into one buffer for the codec. The
// bytes are identical (test/unit/kafka/record-encoding.test.ts checks them against kafkajs's own
// encoders).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface EncoderLike {
  buf: Buffer;
  offset: number;
}
type EncoderCtor = { prototype: object; new (size?: number): EncoderLike & { writeEncoderArray(a: unknown[]): unknown; size(): number } };
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderCtor;

type HeaderValue = string | Buffer | null | undefined;
export interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: string | Buffer | null;
  value?: string | Buffer | null;
  headers?: Record<string, HeaderValue | HeaderValue[]>;
}

/** A record whose wire size is known, written only when its batch is. */
export interface SizedRecord {
  readonly args: RecordArgs;
  /** [key, value] pairs, flattened from the headers object */
  readonly headers: [string, HeaderValue][] | undefined;
  /** body bytes (the record's size without its own length prefix) */
  readonly body: number;
  /** bytes including the length prefix */
  readonly size: number;
}

function zigzag32(n: number): number {
  return (n << 1) ^ (n >> 31);
}

function sizeOfUVarInt(u: number): number {
  let bytes = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    bytes++;
  }
  return bytes;
}

/** zigzag for values up to 2^52: a timestamp delta never needs the full 64 bits */
function zigzag64(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

const sizeOfVarInt = (n: number): number => sizeOfUVarInt(zigzag32(n) >>> 0);

function sizeOfBytes(v: string | Buffer | null | undefined): number {
  if (v == null) return 1; // varint -1
  const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  return sizeOfVarInt(len) + len;
}

export function sizedRecord(args: RecordArgs): SizedRecord {
  let headers: [string, HeaderValue][] | undefined;
  let headerBytes = 1;
  if (args.headers !== undefined) {
    headers = [];
    for (const k of Object.keys(args.headers)) {
      const v = args.headers[k];
      if (Array.isArray(v)) for (const item of v) headers.push([k, item]);
      else headers.push([k, v]);
    }
    headerBytes = sizeOfVarInt(headers.length);
    for (const [k, v] of headers) headerBytes += sizeOfBytes(k) + sizeOfBytes(v);
  }
  const body = 1 + sizeOfUVarInt(zigzag64(args.timestampDelta ?? 0)) + sizeOfVarInt(args.offsetDelta ?? 0) + sizeOfBytes(args.key) + sizeOfBytes(args.value) + headerBytes;
  return { args, headers, body, size: sizeOfVarInt(body) + body };
}

function writeUVarInt(buf: Buffer, at: number, u: number): number {
  while (u >= 0x80) {
    buf[at++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[at++] = u;
  return at;
}

const writeVarInt = (buf: Buffer, at: number, n: number): number => writeUVarInt(buf, at, zigzag32(n) >>> 0);

function writeBytes(buf: Buffer, at: number, v: string | Buffer | null | undefined): number {
  if (v == null) return writeVarInt(buf, at, -1);
  if (typeof v === 'string') {
    const len = Buffer.byteLength(v);
    at = writeVarInt(buf, at, len);
    return at + buf.write(v, at, len, 'utf8');
  }
  at = writeVarInt(buf, at, v.length);
  return at + v.copy(buf, at);
}

export function writeRecord(buf: Buffer, at: number, r: SizedRecord): number {
  const a = r.args;
  at = writeVarInt(buf, at, r.body);
  buf[at++] = 0; // attributes: unused by record format v2
  at = writeUVarInt(buf, at, zigzag64(a.timestampDelta ?? 0));
  at = writeVarInt(buf, at, a.offsetDelta ?? 0);
  at = writeBytes(buf, at, a.key);
  at = writeBytes(buf, at, a.value);
  at = writeVarInt(buf, at, r.headers?.length ?? 0);
  for (const [k, v] of r.headers ?? []) {
    at = writeBytes(buf, at, k);
    at = writeBytes(buf, at, v);
  }
  return at;
}

/** An Encoder (as kafkajs's request encoders expect one) holding exactly `buf`. */
function encoderOf(buf: Buffer): EncoderLike {
  const e = Object.create(Encoder.prototype) as EncoderLike;
  e.buf = buf;
  e.offset = buf.length;
  return e;
}

/** The record as kafkajs's own Record encoder would return it (for the compressed path). */
export function recordEncoder(r: SizedRecord): EncoderLike {
  const buf = Buffer.allocUnsafe(r.size);
  writeRecord(buf, 0, r);
  return encoderOf(buf);
}

function int64(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { value?: unknown }).value === 'bigint') return (v as { value: bigint }).value;
  return BigInt(v as string | number);
}

export interface RecordBatchArgs {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: SizedRecord[];
}

// Offsets of the v2 batch header: firstOffset(8) length(4) leaderEpoch(4) magic(1) crc(4), then
// the CRC-covered part: attributes(2) lastOffsetDelta(4) firstTs(8) maxTs(8) pid(8) epoch(2) seq(4) count(4).
const CRC_AT = 17;
const BODY_AT = 21;
const HEADER_BYTES = BODY_AT + 40;
const TRANSACTIONAL = 16;

const COMPRESSION_MASK = 0x07;

type CompressedBatch = (args: Omit<RecordBatchArgs, 'records'> & { records: EncoderLike[] }) => Promise<EncoderLike>;
/** kafkajs's codec lookup (message/compression's lookupCodec): the codec it would compress with */
export type CodecLookup = (compression: number) => { compress(encoder: EncoderLike): Promise<Buffer> } | null;

export function recordBatchEncoder(original: CompressedBatch, crc32C: (b: Buffer) => number, lookupCodec: CodecLookup): (args: RecordBatchArgs) => Promise<EncoderLike> {
  return async (args) => {
    const records = args.records ?? [];
    const compression = (args.compression ?? 0) & COMPRESSION_MASK;
    let recordBytes = 0;
    for (const r of records) recordBytes += r.size;
    let compressed: Buffer | undefined;
    if (compression !== 0) {
      const codec = lookupCodec(compression);
      if (codec === null) return original({ ...args, records: records.map(recordEncoder) });
      const raw = Buffer.allocUnsafe(recordBytes);
      let at = 0;
      for (const r of records) at = writeRecord(raw, at, r);
      compressed = await codec.compress(encoderOf(raw));
      recordBytes = compressed.length;
    }
    const size = HEADER_BYTES + recordBytes;
    const now = Date.now();
    const buf = Buffer.allocUnsafe(size);
    buf.writeBigInt64BE(int64(args.firstOffset ?? 0), 0);
    buf.writeInt32BE(size - 12, 8);
    buf.writeInt32BE(args.partitionLeaderEpoch ?? 0, 12);
    buf[16] = 2; // magic
    buf.writeInt16BE(compression | (args.transactional === true ? TRANSACTIONAL : 0), BODY_AT);
    buf.writeInt32BE(args.lastOffsetDelta ?? 0, BODY_AT + 2);
    buf.writeBigInt64BE(int64(args.firstTimestamp ?? now), BODY_AT + 6);
    buf.writeBigInt64BE(int64(args.maxTimestamp ?? now), BODY_AT + 14);
    buf.writeBigInt64BE(int64(args.producerId ?? -1), BODY_AT + 22);
    buf.writeInt16BE(args.producerEpoch ?? 0, BODY_AT + 30);
    buf.writeInt32BE(args.firstSequence ?? 0, BODY_AT + 32);
    buf.writeInt32BE(records.length, BODY_AT + 36);
    let at = HEADER_BYTES;
    if (compressed !== undefined) at += compressed.copy(buf, at);
    else for (const r of records) at = writeRecord(buf, at, r);
    if (at !== size) throw new Error(`record batch encoder wrote ${at} of ${size} bytes`);
    buf.writeUInt32BE(crc32C(buf.subarray(BODY_AT)), CRC_AT);
    return encoderOf(buf);
  };
}
