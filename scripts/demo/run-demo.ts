// One demo run: the example pipeline on topics of its own, its input written, sluice run
// in-process until it has committed everything, and what came out read back. The CLI
// (scripts/demo.ts) prints its lines; the integration test checks its outcome.
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaClientName, StreamClient } from '../../src/clients/port.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { openClient, pipelineSpec, startPipeline } from '../../src/entry/app.ts';
import type { RunningPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import type { Logger } from '../../src/log.ts';
import { partialsTopic } from '../../src/model/naming.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { isCrossPartition } from '../../src/processors/partials.ts';
import { createDemoTopics, demoConfig } from './demo-config.ts';
import { consumedAll, deadLetterReasons, readResults } from './read-back.ts';
import type { Result } from './read-back.ts';
import type { DemoScenario } from './scenario.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PARTITIONS = 4;

export interface DemoOptions {
  scenario: DemoScenario;
  client: KafkaClientName | undefined;
  brokers: string;
  registryUrl: () => Promise<string>;
  events: number;
  print: (line: string) => void;
}

export interface DemoOutcome {
  produced: number;
  results: Result[];
  /** dead letters read back, by reason */
  deadLetters: Record<string, number>;
  /** the dead letters the input was written to cause, by reason */
  expectedDeadLetters: Record<string, number>;
  /** whether the dead letters read back are exactly those */
  deadLettersAsWritten: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const n = (x: number): string => x.toLocaleString('en-US');

/**
 * Whether the group has committed everything there is: the input, and the partials its source
 * lanes wrote for the cross-partition windows, which merge lanes turn into results after the
 * input is committed.
 */
async function drained(client: StreamClient, config: SluiceConfig): Promise<boolean> {
  const spec = pipelineSpec(config);
  const partials = spec.windows.filter((w) => isCrossPartition(spec, w)).map((w) => partialsTopic(config.application.id, w.name));
  for (const topic of [config.input.topic, ...partials]) if (!(await consumedAll(client, config.application.id, topic))) return false;
  return true;
}

/** The status line, and whether every input record is in (committed); the merge lanes may still be at work. */
async function status(pipeline: RunningPipeline, produced: number, seconds: number): Promise<{ line: string; inputDone: boolean }> {
  const m = pipeline.metrics;
  const [records, duplicates, deadLetters, results] = await Promise.all([counterTotal(m.recordsIn), counterTotal(m.duplicates), counterTotal(m.deadLetters), counterTotal(m.outputs)]);
  const line = `demo: ${n(records)}/${n(produced)} records in, ${n(duplicates)} duplicates dropped, ${n(deadLetters)} dead letters, ${n(results)} results, ${seconds.toFixed(0)}s`;
  return { line, inputDone: records >= produced };
}

/** Runs the pipeline until it has committed every record, a status line a second; returns the seconds it took. */
async function runUntilDrained(config: SluiceConfig, log: Logger, client: StreamClient, produced: number, print: (line: string) => void): Promise<number> {
  const started = Date.now();
  const pipeline = await startPipeline(config, log);
  try {
    for (;;) {
      const failed = await Promise.race([sleep(1000).then(() => undefined), pipeline.failed]);
      if (failed !== undefined) throw failed;
      const seconds = (Date.now() - started) / 1000;
      const { line, inputDone } = await status(pipeline, produced, seconds);
      print(line);
      if (inputDone && (await drained(client, config))) return seconds;
    }
  } finally {
    await pipeline.stop();
  }
}

async function readBack(client: StreamClient, config: SluiceConfig, o: DemoOptions, produced: number, expectedDeadLetters: Record<string, number>): Promise<DemoOutcome> {
  const results = await readResults(client, config.output.topic);
  const perWindow = config.windows.map((w) => `${n(results.filter((r) => r.window === w.name).length)} ${w.name}`);
  o.print(`demo: ${n(results.length)} results in ${config.output.topic} (read_committed): ${perWindow.join(', ')}`);
  for (const line of o.scenario.describe(results)) o.print(`demo:   ${line}`);
  const reasons = await deadLetterReasons(client, config.deadLetter.topic);
  const total = reasons.reduce((sum, [, count]) => sum + count, 0);
  o.print(`demo: ${n(total)} dead letters in ${config.deadLetter.topic}, by sluice.reason: ${reasons.map(([reason, count]) => `${reason} ${n(count)}`).join(', ') || 'none'}`);
  const deadLetters = Object.fromEntries(reasons);
  const byReason = (counts: Record<string, number>) => JSON.stringify(Object.entries(counts).filter(([, count]) => count > 0).sort());
  const deadLettersAsWritten = byReason(deadLetters) === byReason(expectedDeadLetters);
  o.print(`demo: dead letters ${deadLettersAsWritten ? 'exactly those the input was written to cause' : `NOT those the input was written to cause: ${JSON.stringify(expectedDeadLetters)}`}`);
  return { produced, results, deadLetters, expectedDeadLetters, deadLettersAsWritten };
}

export async function runDemo(o: DemoOptions): Promise<DemoOutcome> {
  const run = randomBytes(3).toString('hex');
  const config = await demoConfig({ exampleFile: join(root, 'examples', o.scenario.example), run, brokers: o.brokers, client: o.client, registryUrl: o.registryUrl });
  const log = createLogger('warn');
  const client = await openClient(config, log);
  try {
    await createDemoTopics(client, config, PARTITIONS);
    const { records: produced, deadLetters: expected } = await o.scenario.produce(client, config, o.events);
    o.print(`demo: produced ${n(produced)} ${o.scenario.inputName} to ${config.input.topic} (${PARTITIONS} partitions) on ${o.brokers}; running examples/${o.scenario.example} on ${config.kafka.client}`);
    const seconds = await runUntilDrained(config, log, client, produced, o.print);
    o.print(`demo: done in ${seconds.toFixed(1)}s (${n(Math.round(produced / seconds))} records/s, exactly-once).`);
    return await readBack(client, config, o, produced, expected);
  } finally {
    await client.close();
  }
}
