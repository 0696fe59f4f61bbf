// Input compressed with each codec gives the same exact output, on both clients. Half of each input
// is compressed by a kafkajs producer with sluice's codecs; the other half arrives uncompressed and
// the broker compresses it with Java's codecs (the topic's compression.type), so sluice also reads
// lz4 frames and snappy-java framing as a Java producer writes them. sluice writes its own output
// with the same codec (output.compression), and the oracle check reads it back.
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../src/entry/app.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { CompressionCodecs, CompressionTypes, ConfigResourceTypes } from '../../src/clients/kafkajs/loader.ts';
import { KAFKAJS_CODECS } from '../../src/clients/kafkajs/codecs.ts';
import { COMPRESSION_IDS } from '../../src/clients/port.ts';
import type { CompressionName } from '../../src/clients/port.ts';
import { platformaticKafka } from '../../src/clients/platformatic/loader.ts';
import { createLogger } from '../../src/log.ts';
import { kafkajsCompression } from '../../src/clients/kafkajs/sink.ts';
import type { GeneratedRecord } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, testKafka, uniqueName, withAdmin } from '../helpers/kafka.ts';
import { createScenario, expectOracleOutput, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const satisfies readonly CompressionName[];
const IS_CONTROL = 0x20;

async function setTopicCompression(topic: string, codec: CompressionName): Promise<void> {
  await withAdmin((admin) => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'compression.type', value: codec }] }] }));
}

/** Produces `records` to their partitions, compressed with `codec` by kafkajs. */
async function produceCompressed(topic: string, records: readonly GeneratedRecord[], codec: CompressionName): Promise<void> {
  const producer = testKafka('sluice-test-compressed').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 500) {
      const chunk = records.slice(i, i + 500);
      await producer.send({ topic, acks: -1, compression: kafkajsCompression(codec), messages: chunk.map((r) => ({ partition: r.partition, key: r.key, value: r.value })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The codec ids of the data batches the broker holds for `topic` (read raw, uncommitted included). */
async function storedCodecs(topic: string, partitions: number): Promise<Set<number>> {
  const { Consumer, FetchIsolationLevels } = platformaticKafka;
  const consumer = new Consumer({ clientId: 'sluice-test-codecs', bootstrapBrokers: brokers(), groupId: uniqueName('codecs') });
  try {
    const metadata = await consumer.metadata({ topics: [topic] });
    const info = metadata.topics.get(topic)!;
    const codecs = new Set<number>();
    for (let partition = 0; partition < partitions; partition++) {
      const request = { partition, fetchOffset: 0n, partitionMaxBytes: 4 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 };
      const response = await consumer.fetch({ node: info.partitions[partition]!.leader, topics: [{ topicId: info.id, partitions: [request] }], maxWaitTime: 100, minBytes: 1, maxBytes: 4 << 20, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED });
      for (const t of response.responses) for (const p of t.partitions) for (const batch of p.records ?? []) if ((batch.attributes & IS_CONTROL) === 0) codecs.add(batch.attributes & 0x07);
    }
    return codecs;
  } finally {
    await consumer.close(true);
  }
}

function withOutputCompression(s: Scenario, codec: CompressionName): SluiceConfig {
  return { ...s.config, output: { ...s.config.output, compression: codec } };
}

describe.each(KAFKA_CLIENTS)('compressed input on %s', (client) => {
  it.each(CODECS)('%s: the same events give the same exact output', async (codec) => {
    // One seed for every codec and client: one stream, one oracle.
    const s = await createScenario({ client, name: `codec-${codec}`, partitions: 2, events: 3_000, seed: 23 });
    await setTopicCompression(s.input, codec);
    const half = Math.floor(s.records.length / 2);
    await produceCompressed(s.input, s.records.slice(0, half), codec);
    await produceCompressed(s.input, s.records.slice(half), 'none');
    expect([...(await storedCodecs(s.input, s.partitions))], 'every input batch is compressed with the codec').toEqual([COMPRESSION_IDS[codec]]);

    const pipeline = await startPipeline(withOutputCompression(s, codec), log);
    let failure: unknown;
    void pipeline.failed.then((e) => (failure = e));
    try {
      await waitUntilProcessed(s, 60_000);
      await expectOracleOutput(s);
      expect(failure).toBeUndefined();
    } finally {
      await pipeline.stop();
    }
    expect([...(await storedCodecs(s.output, s.partitions))], 'sluice writes its output with output.compression').toEqual([COMPRESSION_IDS[codec]]);
  });

  it('stops with SLUICE_INPUT_UNREADABLE on a batch it cannot decompress, instead of fetching it forever', async () => {
    const s = await createScenario({ client, name: 'codec-unreadable', partitions: 2, events: 200, seed: 29 });
    await produceCompressed(s.input, s.records, 'lz4');
    // No broker takes a batch that does not decompress, so the reading side is made to see one:
    // both clients' lz4 decoders (sluice's wrappers included) get garbage instead of the batch.
    const codecs = CompressionCodecs as Record<number, () => unknown>;
    const kafkajsLz4 = codecs[CompressionTypes.LZ4]!;
    const platformaticLz4 = platformaticKafka.compressionsAlgorithms.lz4 as { decompressSync: (data: Buffer) => Buffer };
    const decompressSync = platformaticLz4.decompressSync;
    const garbage = Buffer.from('not an lz4 frame');
    codecs[CompressionTypes.LZ4] = () => ({ ...KAFKAJS_CODECS.lz4, decompress: () => KAFKAJS_CODECS.lz4.decompress(garbage) });
    platformaticLz4.decompressSync = () => decompressSync(garbage);
    try {
      const pipeline = await startPipeline(withOutputCompression(s, 'none'), log);
      try {
        const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000).unref());
        const failed = await Promise.race([pipeline.failed, timeout]);
        expect(failed).not.toBe('timeout');
        expect(failed).toMatchObject({ code: 'SLUICE_INPUT_UNREADABLE', exitCode: 1 });
        expect(await pipeline.crashed).toBe(1);
      } finally {
        await pipeline.stop();
      }
    } finally {
      codecs[CompressionTypes.LZ4] = kafkajsLz4;
      platformaticLz4.decompressSync = decompressSync;
    }
    const committed = await withAdmin((admin) => admin.fetchOffsets({ groupId: s.appId, topics: [s.input] }));
    expect(committed[0]!.partitions.map((p) => p.offset), 'nothing was processed').toEqual(['-1', '-1']);
  });
});
