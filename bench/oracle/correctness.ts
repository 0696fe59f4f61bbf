// Did the run lose or double-count anything? The load generator's JSONL is replayed through the
// independent oracle (test/helpers/oracle.ts, see pool.ts) and its final windows are
// compared with the `final: true` records sluice committed to the output topic, read
// read_committed, and its counts with sluice's.
import { isDeepStrictEqual } from 'node:util';
import { Kafka, logLevel } from '../../src/clients/kafkajs/loader.ts';
import type { Sample } from '../measure/scraper.ts';
import type { BenchAdmin } from '../setup/broker.ts';
import { crossPartitionWindows, oracleConfig } from '../setup/pipeline-config.ts';
import type { RunPlan } from '../setup/plan.ts';
import { runOracleParallel } from './pool.ts';
import type { OracleSummary } from './pool.ts';

interface OutputRead {
  /** output key -> every final record's parsed value under it */
  finals: Map<string, unknown[]>;
  updates: number;
  records: number;
  seconds: number;
}

/** Reads the whole output topic read_committed: at least `minFinals` finals, then until quiet. */
async function readOutput(brokers: string, topic: string, groupId: string, minFinals: number, quietMs: number, timeoutMs: number): Promise<OutputRead> {
  const kafka = new Kafka({ clientId: 'sluice-bench-verify', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200, maxBytesPerPartition: 8 << 20, maxBytes: 64 << 20 });
  const started = Date.now();
  const finals = new Map<string, unknown[]>();
  let nFinals = 0;
  let updates = 0;
  let records = 0;
  // Quiet only counts once the consumer has joined and fetched: until then nothing can arrive.
  let lastNew: number | undefined;
  consumer.on(consumer.events.FETCH, () => (lastNew ??= Date.now()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          records++;
          // Most records are updates; only finals are parsed.
          if (m.value === null || !m.value.includes('"final":true')) {
            updates++;
            continue;
          }
          const key = m.key?.toString() ?? '';
          const list = finals.get(key) ?? [];
          list.push(JSON.parse(m.value.toString()));
          finals.set(key, list);
          nFinals++;
        }
        if (batch.messages.length > 0) lastNew = Date.now();
      },
    });
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const quiet = lastNew === undefined ? 0 : Date.now() - lastNew;
      if (nFinals >= minFinals && quiet >= quietMs) break;
      if (Date.now() - started > timeoutMs) break;
    }
  } finally {
    await consumer.disconnect();
  }
  return { finals, updates, records, seconds: (Date.now() - started) / 1000 };
}

export interface Correctness {
  correct: boolean;
  problems: string[];
  expected: { finals: number; accepted: number; duplicates: number; deadLetters: number };
  observed: { finals: number; finalRecords: number; updates: number; records: number; duplicates: number; deadLetters: number; processed: number };
  missing: number;
  extra: number;
  doubled: number;
  wrong: number;
  examples: string[];
  oracleSeconds: number;
  readSeconds: number;
}

interface SluiceCounts {
  processed: number;
  duplicates: number;
  deadLetters: number;
}

function compare(oracle: OracleSummary & { seconds: number }, out: OutputRead, counts: SluiceCounts): Correctness {
  const problems: string[] = [];
  const examples: string[] = [];
  let missing = 0;
  let extra = 0;
  let doubled = 0;
  let wrong = 0;
  const example = (line: string) => examples.length < 5 && examples.push(line);
  for (const [key, want] of oracle.finals) {
    const got = out.finals.get(key);
    if (got === undefined) {
      missing++;
      example(`missing final ${key}: expected ${JSON.stringify(want)}`);
      continue;
    }
    if (got.length > 1) {
      doubled++;
      example(`final ${key} written ${got.length} times`);
    }
    if (!isDeepStrictEqual(got[0], want)) {
      wrong++;
      example(`final ${key}: got ${JSON.stringify(got[0])}, expected ${JSON.stringify(want)}`);
    }
  }
  for (const [key, got] of out.finals) {
    if (oracle.finals.has(key)) continue;
    extra++;
    example(`unexpected final ${key}: ${JSON.stringify(got[0])}`);
  }
  if (missing) problems.push(`${missing} final windows missing`);
  if (extra) problems.push(`${extra} final windows the oracle did not close`);
  if (doubled) problems.push(`${doubled} final windows written more than once`);
  if (wrong) problems.push(`${wrong} final windows with wrong values`);
  if (counts.processed !== oracle.records) problems.push(`sluice processed ${counts.processed} input records, ${oracle.records} were produced`);
  if (counts.duplicates !== oracle.duplicates) problems.push(`sluice dropped ${counts.duplicates} duplicates, the oracle ${oracle.duplicates}`);
  if (counts.deadLetters !== oracle.deadLetters) problems.push(`sluice dead-lettered ${counts.deadLetters} records, the oracle ${oracle.deadLetters}`);
  const finalRecords = [...out.finals.values()].reduce((a, l) => a + l.length, 0);
  return {
    correct: problems.length === 0,
    problems,
    expected: { finals: oracle.finals.size, accepted: oracle.accepted, duplicates: oracle.duplicates, deadLetters: oracle.deadLetters },
    observed: { finals: out.finals.size, finalRecords, updates: out.updates, records: out.records, duplicates: counts.duplicates, deadLetters: counts.deadLetters, processed: counts.processed },
    missing,
    extra,
    doubled,
    wrong,
    examples,
    oracleSeconds: Math.round(oracle.seconds * 10) / 10,
    readSeconds: Math.round(out.seconds * 10) / 10,
  };
}

/**
 * The main run's check, once sluice stopped: its final windows and counts (the `flushed` scrape)
 * against the oracle, and the produced log against the input topic, whose end offsets the load
 * generator counted as `generatorEnds`.
 */
export async function checkMainRun(plan: RunPlan, admin: BenchAdmin, generatorEnds: readonly number[], flushed: Sample): Promise<Correctness> {
  const { config } = plan.main;
  // The oracle runs on worker threads while this thread reads sluice's output.
  const [oracle, out] = await Promise.all([
    runOracleParallel(plan.jsonl, plan.opts.partitions, oracleConfig(config), crossPartitionWindows(config).length > 0),
    readOutput(plan.broker.brokers, config.output.topic, plan.verifyGroup, flushed.outputsFinal, 2000, 3 * 60_000),
  ]);
  const ends = await admin.ends(config.input.topic);
  const offsetProblems = generatorEnds.flatMap((n, p) => (ends.get(p) === n && oracle.ends[p] === n ? [] : [`partition ${p}: generator counted end ${n}, log ${oracle.ends[p]}, topic ${ends.get(p)}`]));
  const correctness = compare(oracle, out, { processed: flushed.recordsIn, duplicates: flushed.duplicates, deadLetters: flushed.deadLetters });
  if (offsetProblems.length > 0) {
    correctness.correct = false;
    correctness.problems.push(`the produced log does not match the input topic (${offsetProblems.join('; ')})`);
  }
  return correctness;
}
