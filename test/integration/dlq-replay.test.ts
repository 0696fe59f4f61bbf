// Dead letters replayed against the real broker, on both clients, through the `sluice` bin: a
// pipeline rejects events whose points arrive as strings; its config is fixed with a coercion and
// the pipeline restarted; `dlq inspect` counts them, a dry run says what a replay would do, and
// `dlq replay --reason not-a-number` puts the originals back on the input topic (their own
// partition, timestamp and headers). The output must equal the oracle run over the input topic
// as it now is, without the originals the first config rejected (a dead letter changes no state);
// replaying a second time must add nothing (dedupe drops every copy within its ttl).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { DEFAULT_TEST_PIPELINE, closingRecords, generateStream, pipelineYaml } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, brokers, createTopics, produceToPartitions, readAllCommitted, uniqueName, waitForCommittedEnd } from '../helpers/kafka.ts';
import type { ReadMessage } from '../helpers/kafka.ts';
import { runOracle } from '../helpers/oracle.ts';
import type { OracleRecord, OracleResult } from '../helpers/oracle.ts';
import { runSluiceToExit } from '../helpers/sluice-process.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const FIXED = { ...DEFAULT_TEST_PIPELINE, normalize: [{ coerce: { field: 'points', to: 'number' as const } }] };

const where = (m: { partition: number | string; offset: number | string }) => `${m.partition}:${m.offset}`;

function asOracleRecords(messages: readonly ReadMessage[], without: ReadonlySet<string>): OracleRecord[] {
  return messages.filter((m) => !without.has(where(m))).map((m) => ({ partition: m.partition, offset: Number(m.offset), key: m.key, value: m.value, timestampMs: m.timestamp }));
}

async function runPipelineUntilCommitted(configFile: string, appId: string, input: string): Promise<void> {
  const pipeline = await startPipeline(loadConfigFile(configFile), log);
  try {
    await waitForCommittedEnd(appId, input);
  } finally {
    await pipeline.stop();
  }
}

describe.each(KAFKA_CLIENTS)('dlq replay on %s', (client) => {
  it('replays the fixed dead letters once: the output equals the oracle, and a second replay adds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-dlq-'));
    const appId = uniqueName('dlq');
    const partitions = 2;
    const [input, output, dlq] = [`${appId}-in`, `${appId}-out`, `${appId}-dlq`];
    await createTopics([{ topic: input, numPartitions: partitions }]);
    // A short stream in event time, so that the replayed events still find their windows open.
    const stream = generateStream({ seed: 5, partitions, events: 2_000, stepMs: 10, invalidEvery: 10, repeatAfterTtlRate: 0, lateRetryRate: 0 });
    const yaml = (file: string, fixed: boolean) => {
      writeFileSync(join(dir, file), pipelineYaml({ brokers: brokers().join(','), appId, input, output, dlq, stateDir: join(dir, 'state'), client, normalize: fixed ? FIXED.normalize : undefined }));
      return join(dir, file);
    };
    const strict = yaml('strict.yaml', false);
    const fixed = yaml('fixed.yaml', true);
    const cli = (...args: string[]) => runSluiceToExit(['dlq', ...args, '--config', fixed], join(dir, 'cli.log'));

    await produceToPartitions(input, stream.map((r) => ({ ...r, headers: { 'trace-id': `t-${r.partition}-${r.offset}` } })));
    await runPipelineUntilCommitted(strict, appId, input);
    const rejected = (await readAllCommitted(dlq, 1)).filter((m) => m.headers['sluice.reason'] === 'not-a-number');
    expect(rejected.length).toBeGreaterThan(5);
    for (const m of rejected) expect(m.headers).toMatchObject({ 'sluice.stage': 'decode', 'sluice.field': 'points', 'sluice.origin.topic': input, 'trace-id': `t-${m.headers['sluice.origin.partition']}-${m.headers['sluice.origin.offset']}` });
    const originals = new Set(rejected.map((m) => `${m.headers['sluice.origin.partition']}:${m.headers['sluice.origin.offset']}`));

    const inspected = await cli('inspect');
    expect(inspected.code, inspected.output).toBe(0);
    expect(inspected.output).toMatch(new RegExp(`not-a-number +${rejected.length} +stage decode`));
    const dry = await cli('replay', '--reason', 'not-a-number', '--dry-run');
    expect(dry.output).toContain(`would replay ${rejected.length} dead letters (reason not-a-number) to ${input}`);
    expect((await readAllCommitted(input, stream.length)).length, 'a dry run produces nothing').toBe(stream.length);

    const first = await cli('replay', '--reason', 'not-a-number');
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain(`replayed ${rejected.length} dead letters (reason not-a-number) to ${input}`);
    const afterFirst = await readAllCommitted(input, stream.length + rejected.length);
    const copies = afterFirst.filter((m) => m.headers['trace-id'] !== `t-${m.partition}-${m.offset}`);
    expect(copies).toHaveLength(rejected.length);
    for (const copy of copies) {
      const original = rejected.find((m) => m.headers['trace-id'] === copy.headers['trace-id'])!;
      expect(copy.partition, 'its own partition').toBe(Number(original.headers['sluice.origin.partition']));
      expect(copy.timestamp, 'its own timestamp').toBe(Number(original.headers['sluice.origin.timestamp']));
      expect([copy.key, copy.value]).toEqual([original.key, original.value]);
      expect(Object.keys(copy.headers).filter((h) => h.startsWith('sluice.')), 'no sluice headers').toEqual([]);
    }
    await runPipelineUntilCommitted(fixed, appId, input);

    const second = await cli('replay', '--reason', 'not-a-number');
    expect(second.code, second.output).toBe(0);
    const afterSecond = await readAllCommitted(input, stream.length + 2 * rejected.length);
    const closing = closingRecords(partitions, Math.max(...stream.map((r) => r.timestampMs)), asOracleRecords(afterSecond, new Set()));
    await produceToPartitions(input, closing);
    await runPipelineUntilCommitted(fixed, appId, input);

    const inputNow = await readAllCommitted(input, afterSecond.length + partitions);
    const oracle = runOracle(asOracleRecords(inputNow, originals), FIXED);
    const beforeSecond = new Set(afterFirst.map(where));
    const secondCopies = new Set(afterSecond.filter((m) => !beforeSecond.has(where(m))).map(where));
    expect(secondCopies.size).toBe(rejected.length);
    const withoutSecond = runOracle(asOracleRecords(inputNow, new Set([...originals, ...secondCopies])), FIXED);
    for (const at of secondCopies) expect(oracle.outcomes.get(at), `second copy ${at}`).toBe('duplicate');
    const firstCopies = asOracleRecords(afterFirst, new Set()).filter((r) => !stream.some((o) => o.partition === r.partition && o.offset === r.offset));
    expect(firstCopies.filter((r) => oracle.outcomes.get(where(r)) === 'accepted').length, 'the first replay counted').toBeGreaterThan(rejected.length / 2);
    expect(oracle.finals, 'the second replay added nothing').toEqual(withoutSecond.finals);
    await expectOutput(output, dlq, oracle, rejected.length);
  });
});

/** Aggregates equal to the oracle's; dead letters: the oracle's plus the originals the strict config rejected. */
async function expectOutput(output: string, dlq: string, oracle: OracleResult, rejected: number): Promise<void> {
  const out = await readAllCommitted(output, oracle.finals.size);
  const got = new Map(out.map((m) => [m.key ?? '', JSON.parse(m.value ?? 'null') as unknown]));
  expect(out.length, 'each window and group once').toBe(got.size);
  expect(got).toEqual(new Map(oracle.finals));
  const dead = await readAllCommitted(dlq, oracle.deadLetters.size + rejected);
  expect(dead.length).toBe(oracle.deadLetters.size + rejected);
  const reasons = new Map(dead.map((m) => [`${m.headers['sluice.origin.partition']}:${m.headers['sluice.origin.offset']}`, m.headers['sluice.reason']]));
  for (const [at, reason] of oracle.deadLetters) expect(reasons.get(at), at).toBe(reason);
}
