// A lane whose restore takes longer than the session timeout must keep its member in the group:
// on kafkajs a batch that waits for the opening lane holds the client's fetch loop, which is the
// only thing that heartbeats, so without heartbeats from the wait the member is evicted and joins
// again (and with another member, the partition moves and its restore starts over there).
// The changelog is real volume, not a slowed-down reader: enough records that a full restore
// outlasts the 6 s session timeout (the broker's minimum), written before sluice starts.
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../src/entry/app.ts';
import { changelogTopic } from '../../src/model/naming.ts';
import { createLogger } from '../../src/log.ts';
import { changelogRecordsFor, metaRecord } from '../../src/state/changelog-codec.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario } from '../helpers/scenario.ts';
import { KAFKA_CLIENTS, createTopics, testKafka } from '../helpers/kafka.ts';

/** changelog records on partition 0: about 15 s of restore at the ~100k records/s measured here */
const FILLER = 1_500_000;

/**
 * Dedupe ids that no input event has, first seen far after every input event, so none expires
 * while the test runs; then the meta record a committed transaction ends with (input offset 0).
 */
async function writeChangelog(s: Scenario): Promise<void> {
  const topic = changelogTopic(s.config.application.id);
  await createTopics([{ topic, numPartitions: s.partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
  const producer = testKafka('sluice-test-changelog').producer();
  await producer.connect();
  try {
    const farFuture = Date.UTC(2100, 0, 1);
    const chunk = 20_000;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < FILLER; i += chunk) {
      const ids = new Map<string, number>();
      for (let j = i; j < Math.min(i + chunk, FILLER); j++) ids.set(`filler-${j}`, farFuture);
      sends.push(producer.send({ topic, acks: -1, messages: changelogRecordsFor(ids, new Map()).map((r) => ({ partition: 0, key: r.key, value: r.value })) }));
      if (sends.length >= 4) await sends.shift();
    }
    await Promise.all(sends);
    const meta = metaRecord({ inputOffset: '0', streamTime: Number.NEGATIVE_INFINITY });
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: meta.key, value: meta.value }] });
  } finally {
    await producer.disconnect();
  }
}

describe.each(KAFKA_CLIENTS)('restore longer than the session timeout on %s', (client) => {
  it('keeps the member in the group: one join, exact output', async () => {
    const s = await createScenario({ client, name: 'restore-hb', partitions: 1, events: 6_000, seed: 41 });
    let t = Date.now();
    await writeChangelog(s);
    console.log(`[restore-hb] ${FILLER} changelog records written in ${Date.now() - t} ms`);
    // The input is there before sluice starts, so a batch arrives while the lane restores.
    await produce(s);
    const lines: string[] = [];
    t = Date.now();
    const pipeline = await startPipeline(s.config, createLogger('info', 'sluice', (l) => lines.push(l)));
    try {
      await waitUntilProcessed(s, 120_000).catch((err: unknown) => {
        console.log(lines.join('\n'));
        throw err;
      });
      // An evicted member notices at its next heartbeat after the restore, and joins again then.
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      await pipeline.stop();
    }
    const log = lines.join('\n');
    const restored = /partition 0: restored \(full\) (\d+) changelog records in (\d+) ms/.exec(log);
    console.log(`[restore-hb] processed in ${Date.now() - t} ms; ${restored?.[0] ?? 'no full restore'}`);
    expect(restored, log).not.toBeNull();
    expect(Number(restored![1])).toBe(FILLER + 1);
    // The premise: the restore outlasted the session timeout (6 s) by a margin.
    expect(Number(restored![2]), 'the restore must take longer than the session timeout').toBeGreaterThan(s.config.kafka.sessionTimeout * 1.5);
    expect(log.match(/joined group .* \(join #\d+\)/g), log.slice(-5000)).toHaveLength(1);
    await expectOracleOutput(s);
  }, 240_000);
});
