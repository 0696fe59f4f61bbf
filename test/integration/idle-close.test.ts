// Idle close end to end through the real broker, on both clients: a stream whose partitions then
// go quiet, with `closeIdleAfter: 2s` on every window (tumbling, hopping and sessions). Stream
// time closes what it can; the rest must come out once each, marked `"closedBy":"idle"`, with the
// oracle's values for the windows still open at each partition's end. A restart that rebuilds the
// state from the changelog must not write any of them again, and an event for a window closed by
// idleness must then be a `late` dead letter: for a session, one at its first event time, which
// would reuse its key if the closed session had left no trace. And SIGKILLs around the idle closes lose or double nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import { generateStream, mulberry32, partitionFor, pipelineYaml } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from '../helpers/kafka.ts';
import type { ReadMessage } from '../helpers/kafka.ts';
import { runOracle } from '../helpers/oracle.ts';
import type { OracleResult } from '../helpers/oracle.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import { testPipeline } from '../helpers/test-pipeline.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const PARTITIONS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function duplicateKeys(out: readonly ReadMessage[]): string[] {
  const keys = out.map((m) => m.key ?? '');
  return keys.filter((k, i) => keys.indexOf(k) !== i);
}

/** Fresh topics, a stream whose partitions stop where their events stop, its oracle and a config with `closeIdleAfter: 2s` on every window. */
async function idleScenario(client: KafkaClientName, name: string, seed: number) {
  const dir = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  const appId = uniqueName(name);
  const input = `${appId}-in`;
  const output = `${appId}-out`;
  const dlq = `${appId}-dlq`;
  const stateDir = join(dir, 'state');
  await createTopics([{ topic: input, numPartitions: PARTITIONS }]);
  // No closing records. Event times are of 2024, so the wall clock is past every window's end + grace.
  const records = generateStream({ seed, partitions: PARTITIONS, events: 3000, stepMs: 150 });
  const oracle = runOracle(records, testPipeline('sessions'));
  // The stream must exercise what the test claims: finals by stream time and by idleness, of every window.
  expect(oracle.finals.size).toBeGreaterThan(100);
  for (const window of ['per_player_1m', 'per_player_5m_by_1m', 'player_sessions']) expect([...oracle.openAtEnd.values()].some((v) => v.window === window), window).toBe(true);
  const configFile = join(dir, 'pipeline.yaml');
  writeFileSync(configFile, pipelineYaml({ brokers: brokers().join(','), appId, input, output, dlq, stateDir, windows: 'sessions', client, closeIdleAfter: '2s' }));
  return { dir, appId, input, output, dlq, stateDir, records, oracle, configFile, expected: oracle.finals.size + oracle.openAtEnd.size };
}

/** Each final once: those stream time closed as the oracle has them, the rest marked idle. */
function expectFinals(out: readonly ReadMessage[], oracle: OracleResult): void {
  expect(duplicateKeys(out), 'each window and group is written exactly once').toEqual([]);
  const got = new Map(out.map((m) => [m.key ?? '', JSON.parse(m.value ?? 'null') as unknown]));
  expect(got.size).toBe(oracle.finals.size + oracle.openAtEnd.size);
  for (const [k, v] of oracle.finals) expect(got.get(k), k).toEqual(v);
  for (const [k, v] of oracle.openAtEnd) expect(got.get(k), k).toEqual({ ...v, closedBy: 'idle' });
}

describe.each(KAFKA_CLIENTS)('idle close on %s', (client) => {
  it('writes the windows a quiet partition leaves open once, marked idle, and makes a later event for them late', { timeout: 240_000 }, async () => {
    const { dir, appId, input, output, dlq, stateDir, records, oracle, configFile, expected } = await idleScenario(client, 'idle-close', 4242);
    const idle = oracle.openAtEnd;
    const config = loadConfigFile(configFile);

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
    expectFinals(out, oracle);

    // A fresh state directory: the next run knows what closed only from the changelog.
    rmSync(stateDir, { recursive: true, force: true });
    const second = await startPipeline(config, log);
    try {
      for (let i = 0; i < 100 && (await counterTotal(second.metrics.restores, { mode: 'full' })) < PARTITIONS; i++) await sleep(200);
      expect(await counterTotal(second.metrics.restores, { mode: 'full' })).toBe(PARTITIONS);
      // Longer than closeIdleAfter: an idle close now finds nothing left to write.
      await sleep(4000);

      // An event at the first event time of a session closed by idleness, which would reuse its key
      // if the session had left no trace. Stream time alone would still take it (its own session,
      // [start, start + gap), closes after its partition's stream time + grace), but the
      // tumbling and hopping windows it belongs to have closed (by stream time or by idleness:
      // the partition's last event's windows closed by idleness), so only the closed session
      // makes it late.
      const streamTimeOf = (playerId: string) => oracle.streamTime.get(partitionFor(playerId, PARTITIONS))!;
      const takenByStreamTime = [...idle].filter(([, v]) => v.window === 'player_sessions' && v.start + 2_000 + 10_000 > streamTimeOf(v.group.playerId as string));
      expect(takenByStreamTime.length, 'a session closed by idleness whose first event time stream time would still take').toBeGreaterThan(0);
      const [closedKey, closedWindow] = takenByStreamTime.sort((a, b) => a[1].start - b[1].start)[0]!;
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

  // sluice as a child process, SIGKILLed at random instants around its idle closes (they come
  // 2 to 2.5 s after a lane's last batch, or its open) and restarted each time: an idle final is
  // never lost or doubled.
  it('is exact when the process is killed around its idle closes', { timeout: 300_000 }, async () => {
    const { dir, appId, input, output, records, oracle, configFile, expected } = await idleScenario(client, 'idle-kill', 777);
    await produceToPartitions(input, records);
    const rng = mulberry32(31);
    const killedAt: number[] = [];
    try {
      for (let k = 0; k < 4; k++) {
        const p = runSluice(['run', '--config', configFile], join(dir, `sluice-${k}.log`));
        await waitForLog(p, /pipeline .* running/, 90_000);
        // After a kill the group gives the partitions back only once the dead member's session expires.
        await waitForLog(p, new RegExp(`(partition \\d+: lane open[^]*){${PARTITIONS}}`), 90_000);
        if (k === 0) await waitForCommittedEnd(appId, input);
        // Until an idle close commits, every run has it to do again: aim at 2 to 2.5 s after the last input.
        const delay = 1800 + Math.floor(rng() * 1000);
        await sleep(delay);
        killedAt.push(delay);
        p.child.kill('SIGKILL');
        await p.exited;
      }
      const last = runSluice(['run', '--config', configFile], join(dir, 'sluice-last.log'));
      try {
        await waitForLog(last, /pipeline .* running/, 90_000);
        await waitForCommittedEnd(appId, input);
        expectFinals(await readAllCommitted(output, expected, 5000, 90_000), oracle);
      } finally {
        last.child.kill('SIGTERM');
        await last.exited;
      }
    } catch (err) {
      throw new Error(`killed at ${killedAt.join(', ')} ms after the lanes opened (the first: caught up); logs in ${dir}: ${(err as Error).message}`, { cause: err });
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
