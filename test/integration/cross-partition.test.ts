// Windows grouped by a field other than the record key (per_region_5m_by_1m): every partition folds
// its events into partials, and a merged window closes only once every input partition's
// watermark has passed end + grace. Checked against the oracle under heavy skew, under SIGKILLs of
// two instances in one group, and with a partition that never receives a record.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../src/entry/app.ts';
import type { RunningPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { CROSS_TEST_PIPELINE, mulberry32 } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, readAllCommitted } from '../helpers/kafka.ts';
import { runCrossPartitionOracle } from '../helpers/oracle.ts';
import { configForInstance, createScenario, expectOracleOutput, outputQuietMs, produce, skewedOrder, waitUntilProcessed } from '../helpers/scenario.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import type { SluiceProcess } from '../helpers/sluice-process.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CROSS_WINDOW = 'per_region_5m_by_1m';
const RUNNING = /pipeline .* running/;

describe.each(KAFKA_CLIENTS)('cross-partition windows on %s', (client) => {
  it('match the oracle when partition 0 runs far ahead of the others', { timeout: 180_000 }, async () => {
    const s = await createScenario({ client,  name: 'cross-e2e', pipeline: 'cross', partitions: 4, events: 16_000, seed: 2024 });
    expect([...s.oracle.finals.values()].some((f) => f.window === CROSS_WINDOW), 'the oracle closes merged windows').toBe(true);
    const skewed = skewedOrder(s.records);
    const zeros = skewed.filter((r) => r.partition === 0).length;
    const pipeline = await startPipeline(s.config, log);
    try {
      // Producing while the pipeline runs, so partition 0's watermark really is ahead.
      await produce(s, skewed.slice(0, zeros));
      await waitUntilProcessed(s);
      // Partitions 1..3 have no records yet, so their watermarks hold every merged window.
      await expectOracleOutput({ ...s, oracle: runCrossPartitionOracle(skewed.slice(0, zeros), CROSS_TEST_PIPELINE, s.partitions) });

      await produce(s, skewed.slice(zeros));
      await waitUntilProcessed(s);
      await expectOracleOutput(s);
      for (const [p, n] of s.oracle.duplicates) expect(await counterTotal(pipeline.metrics.duplicates, { partition: String(p) }), `duplicates on partition ${p}`).toBe(n);
      expect(await counterTotal(pipeline.metrics.late)).toBe([...s.oracle.deadLetters.values()].filter((r) => r === 'late').length);
    } finally {
      await pipeline.stop();
    }
  });

  it('survive 5 SIGKILLs alternating between two instances in one group', { timeout: 240_000 }, async () => {
    const s = await createScenario({ client,  name: 'cross-crash', pipeline: 'cross', partitions: 4, events: 18_000, seed: 4321 });
    const rng = mulberry32(77);
    const kills = 5;
    const per = Math.ceil(s.records.length / (kills + 1));
    const configs = { a: configForInstance(s, 'a'), b: configForInstance(s, 'b') };
    const runs = { a: 0, b: 0 };
    const start = (name: 'a' | 'b'): SluiceProcess => runSluice(['run', '--config', configs[name]], join(s.dir, `${name}-${runs[name]++}.log`));
    const procs = { a: start('a'), b: start('b') };
    const killed: string[] = [];
    const logs: string[] = [];
    try {
      for (let k = 0; k < kills; k++) {
        await produce(s, s.records.slice(k * per, (k + 1) * per));
        const victim = k % 2 === 0 ? 'a' : 'b';
        const p = procs[victim];
        await waitForLog(p, RUNNING, 90_000);
        // Anywhere from "joining / restoring" to "deep in a batch or a merge".
        const delay = Math.floor(rng() * 2500);
        await sleep(delay);
        p.child.kill('SIGKILL');
        await p.exited;
        logs.push(p.log());
        killed.push(`${victim} after ${delay}ms`);
        procs[victim] = start(victim);
      }
      await produce(s, s.records.slice(kills * per));
      await waitForLog(procs.a, RUNNING, 90_000);
      await waitForLog(procs.b, RUNNING, 90_000);
      await waitUntilProcessed(s, 150_000);
      const all = [...logs, procs.a.log(), procs.b.log()].join('\n');
      console.log(`[cross-crash] killed ${killed.join(', ')}; restores: ${(all.match(/restored \((replay|full)\)/g) ?? []).length}`);
      expect(killed).toHaveLength(kills);
      for (const name of ['a', 'b'] as const) expect(procs[name].child.exitCode, `${name} still runs:\n${procs[name].log().slice(-3000)}`).toBeNull();
      await expectOracleOutput(s);
    } finally {
      await stop(procs.a);
      await stop(procs.b);
    }
  });

  it('hold every merged window while one input partition never receives a record', { timeout: 120_000 }, async () => {
    const s = await createScenario({ client,  name: 'cross-stuck', pipeline: 'cross', partitions: 4, events: 6_000, seed: 8, emptyPartitions: [3] });
    const windows = new Set([...s.oracle.finals.values()].map((f) => f.window));
    expect(windows, 'partition-local windows close, the merged one does not').toEqual(new Set(['per_player_1m', 'per_player_5m_by_1m']));
    await produce(s);
    const pipeline = await startPipeline(s.config, log);
    try {
      await waitUntilProcessed(s);
      const expected = new Map([0, 1, 2].map((p) => [String(p), s.oracle.streamTime.get(p)!]));
      const marks = await waitForWatermarks(pipeline, expected);
      expect(marks.get('3'), 'partition 3 was never seen').toEqual([-Infinity]);

      const idle1 = await series(pipeline, 'sluice_watermark_idle_seconds');
      await sleep(1500);
      const idle2 = await series(pipeline, 'sluice_watermark_idle_seconds');
      const [before, after] = [idle1.get('3'), idle2.get('3')];
      expect(before?.length, `idle series for partition 3: ${JSON.stringify([...idle1])}`).toBe(1);
      expect(after![0]!, 'partition 3 idles on').toBeGreaterThan(before![0]!);

      const out = await readAllCommitted(s.output, s.oracle.finals.size, outputQuietMs(s));
      expect(out.filter((m) => m.key?.startsWith(`["${CROSS_WINDOW}",`)).map((m) => m.key)).toEqual([]);
      expect(out.some((m) => m.key?.startsWith('["per_player_1m",'))).toBe(true);
      await expectOracleOutput(s);
    } finally {
      await pipeline.stop();
    }
  });
});

async function stop(p: SluiceProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await p.exited;
}

/** source_partition → values of `name` for the cross window (one per series; more would be a labelling bug). */
async function series(pipeline: RunningPipeline, name: string): Promise<Map<string, number[]>> {
  const metric = pipeline.metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const out = new Map<string, number[]>();
  for (const v of (await metric.get()).values) {
    if (v.labels.window !== CROSS_WINDOW) continue;
    const source = String(v.labels.source_partition);
    out.set(source, [...(out.get(source) ?? []), v.value]);
  }
  return out;
}

/** Watermarks reach merge lanes after the input commit, so poll until they show each partition's final stream time. */
async function waitForWatermarks(pipeline: RunningPipeline, expected: Map<string, number>, timeoutMs = 30_000): Promise<Map<string, number[]>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const marks = await series(pipeline, 'sluice_watermark_ms');
    if ([...expected].every(([p, t]) => marks.get(p)?.length === 1 && marks.get(p)![0] === t)) return marks;
    if (Date.now() > deadline) {
      const want = JSON.stringify(Object.fromEntries(expected));
      throw new Error(`sluice_watermark_ms for ${CROSS_WINDOW} by source_partition: want ${want}, got ${JSON.stringify(Object.fromEntries(marks))}`);
    }
    await sleep(250);
  }
}
