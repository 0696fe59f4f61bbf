// The record batch codecs sluice reads and writes, by the names the config, @platformatic/kafka
// and Kafka's own `compression.type` use. Kept apart from the codec implementations (codecs.ts)
// so that the config and the sinks can name a codec without loading native code.
export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];

/** The codec's id in a record batch's attributes (bits 0-2): Kafka's numbering, and kafkajs's CompressionTypes. */
export const COMPRESSION_IDS: Readonly<Record<CompressionName, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
