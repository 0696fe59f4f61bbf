// Idle close end to end through the real broker, on both clients: a stream whose partitions then
// go quiet, with `closeIdleAfter: 2s` on every window (tumbling, hopping and sessions). Stream
// time closes what it can; the rest must come out once each, marked `"closedBy":"idle"`, with the
// oracle's values for the windows still open at each partition's end. A restart that rebuilds the
// state from the changelog must not write any of them again, and an event for a window closed by
// idleness must then be a `late` dead letter.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { generateStream, partitionFor, pipelineYaml } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from '../helpers/kafka.ts';
import type { ReadMessage } from '../helpers/kafka.ts';
import { runOracle } from '../helpers/oracle.ts';
import { testPipeline } from '../helpers/test-pipeline.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const PARTITIONS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function duplicateKeys(out: readonly ReadMessage[]): string[] {
  const keys = out.map((m) => m.key ?? '');
  return keys.filter((k, i) => keys.indexOf(k) !== i);
}

describe.each(KAFKA_CLIENTS)('idle close on %s', (client) => {
  it('writes the windows a quiet partition leaves open once, marked idle, and makes a later event for them late', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-idle-close-'));
    const appId = uniqueName('idle-close');
    const input = `${appId}-in`;
    const output = `${appId}-out`;
    const dlq = `${appId}-dlq`;
    const stateDir = join(dir, 'state');
    await createTopics([{ topic: input, numPartitions: PARTITIONS }]);
    // No closing records: each partition stops where its events stop. Event times are of 2024, so
    // the wall clock is past every window's end + grace.
    const records = generateStream({ seed: 4242, partitions: PARTITIONS, events: 3000, stepMs: 150 });
    const oracle = runOracle(records, testPipeline('sessions'));
    const idle = oracle.openAtEnd;
    // The stream must exercise what the test claims: finals by stream time and by idleness, of every window.
    expect(oracle.finals.size).toBeGreaterThan(100);
    for (const name of ['per_player_1m', 'per_player_5m_by_1m', 'player_sessions']) expect([...idle.values()].some((v) => v.window === name), name).toBe(true);
    const configFile = join(dir, 'pipeline.yaml');
    writeFileSync(configFile, pipelineYaml({ brokers: brokers().join(','), appId, input, output, dlq, stateDir, windows: 'sessions', client, closeIdleAfter: '2s' }));
    const config = loadConfigFile(configFile);
    const expected = oracle.finals.size + idle.size;

    // All input is there before the pipeline starts, so no lane is quiet until it has caught up.
    await produceToPartitions(input, records);
    const first = await startPipeline(config, log);
    let out: ReadMessage[];
    try {
      await waitForCommittedEnd(appId, input);
      out = await readAllCommitted(output, expected, 4000);
    } finally {
      await first.stop();
    }
    expect(duplicateKeys(out), 'each window and group is written exactly once').toEqual([]);
    const got = new Map(out.map((m) => [m.key ?? '', JSON.parse(m.value ?? 'null') as unknown]));
    expect(got.size).toBe(expected);
    for (const [k, v] of oracle.finals) expect(got.get(k), k).toEqual(v);
    for (const [k, v] of idle) expect(got.get(k), k).toEqual({ ...v, closedBy: 'idle' });

    // A fresh state directory: the next run knows what closed only from the changelog.
    rmSync(stateDir, { recursive: true, force: true });
    const second = await startPipeline(config, log);
    try {
      for (let i = 0; i < 100 && (await counterTotal(second.metrics.restores, { mode: 'full' })) < PARTITIONS; i++) await sleep(200);
      expect(await counterTotal(second.metrics.restores, { mode: 'full' })).toBe(PARTITIONS);
      // Longer than closeIdleAfter: an idle close now finds nothing left to write.
      await sleep(4000);

      // An event at the start of the earliest tumbling window closed by idleness: every window it
      // belongs to (tumbling, hopping, its own session) has closed on its partition.
      const [closedKey, closedWindow] = [...idle].filter(([, v]) => v.window === 'per_player_1m').sort((a, b) => a[1].start - b[1].start)[0]!;
      const playerId = closedWindow.group.playerId as string;
      const partition = partitionFor(playerId, PARTITIONS);
      const offset = records.filter((r) => r.partition === partition).length;
      const ts = closedWindow.start;
      await produceToPartitions(input, [{ partition, key: playerId, value: JSON.stringify({ eventId: 'after-idle-close', playerId, action: 'dig', points: 5, score: 1, ts, region: 'eu' }) }]);
      await waitForCommittedEnd(appId, input);

      const dead = await readAllCommitted(dlq, oracle.deadLetters.size + 1);
      const reasons = new Map(dead.map((m) => [`${m.headers['sluice.origin.partition']}:${m.headers['sluice.origin.offset']}`, m.headers['sluice.reason']]));
      expect(dead.length, 'one dead letter per bad record').toBe(oracle.deadLetters.size + 1);
      expect(reasons.get(`${partition}:${offset}`), `an event for ${closedKey}`).toBe('late');
      for (const [where, reason] of oracle.deadLetters) expect(reasons.get(where), where).toBe(reason);

      const again = await readAllCommitted(output, expected, 4000);
      expect(again.length, 'no final written a second time').toBe(expected);
      expect(duplicateKeys(again)).toEqual([]);
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
