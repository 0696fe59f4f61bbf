// `npm run bench [-- --quick]`: sluice's throughput against the exactly-once ceiling of its Kafka
// client, its latency through a steady -> burst -> steady rate profile, its GC and memory, and a
// check against the oracle that nothing was lost or double-counted. See bench/README.md.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installWarningFilter } from '../src/observability/warnings.ts';
import { measureCeilings } from './ceiling/ceiling.ts';
import { measureStateHeap } from './in-process/state-heap-process.ts';
import { measureEnrichment } from './in-process/enrichment.ts';
import type { StateHeapResult } from './in-process/state-heap.ts';
import { LoadClient } from './load/client.ts';
import { drainCopy, measureMain } from './measure/sluice-runs.ts';
import type { CopyDrain } from './measure/sluice-runs.ts';
import type { RunPipeline } from './setup/pipeline-config.ts';
import { checkMainRun } from './oracle/correctness.ts';
import { buildResults, machine, writeResults } from './report/results.ts';
import type { Results } from './report/results.ts';
import { printTable } from './report/table.ts';
import { BenchAdmin, chooseBroker } from './setup/broker.ts';
import { USAGE, parseOptions } from './setup/options.ts';
import type { BenchOptions } from './setup/options.ts';
import { cleanup, planRun, provision } from './setup/plan.ts';
import type { RunPlan } from './setup/plan.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const log = (line: string) => console.log(line);

async function main(opts: BenchOptions): Promise<number> {
  const startedAt = new Date();
  const host = machine();
  const broker = await chooseBroker(log);
  try {
    const plan = await planRun(opts, broker, startedAt);
    const admin = await BenchAdmin.connect(broker.brokers);
    try {
      const results = await benchmark(plan, admin, startedAt, host);
      return await report(results, opts.outDir);
    } finally {
      await cleanup(plan, admin, log);
      await admin.disconnect();
    }
  } finally {
    await broker.release();
  }
}

/** The run from setup to results, one phase after another (bench/README.md, "What a run does"). */
async function benchmark(plan: RunPlan, admin: BenchAdmin, startedAt: Date, host: Record<string, unknown>): Promise<Results> {
  const { opts } = plan;
  const load = new LoadClient();
  try {
    log(`bench: ${opts.quick ? 'quick' : 'full'} run ${plan.runId} on ${plan.broker.brokers} (${plan.broker.source}); ${opts.partitions} partitions, emit ${opts.emit}; work dir ${plan.dir}`);
    const backlogs = await provision(plan, admin, load, log);
    const ceilings = await measureCeilings(plan, admin, load, backlogs.ceiling.perPartition, log);
    const main = await measureMain(plan, admin, load, backlogs.sluice.perPartition, ceilings[opts.client].members, log);
    // Before the load generator closes: it holds the copies' backlogs in open transactions.
    const copies = { admin, load, partitions: opts.partitions, backlog: backlogs.sluice.perPartition, timeoutMs: plan.drainTimeoutMs };
    const failures: string[] = [];
    const oneWorker = await tryDrainCopy('one worker', plan.oneWorker, copies, failures);
    const otherClient = await tryDrainCopy(`${plan.otherClient} client`, plan.other, copies, failures);
    const closed = await load.close();
    log(`bench: sluice stopped (exit ${main.exitCode}); checking the output against the oracle`);
    const correctness = await checkMainRun(plan, admin, closed.ends, main.flushed);
    const stateHeap = stateHeapOf(opts.stateIds);
    log('[enrichment] the hot path without a broker, without and with a table lookup per event');
    const enrichment = measureEnrichment(opts.quick ? 40_000 : 150_000);
    return buildResults({ plan, startedAt, host, backlogs, ceilings, main, oneWorker, otherClient, load: closed, ticks: load.ticks, correctness, stateHeap, enrichment, failures });
  } finally {
    load.kill();
  }
}

/**
 * A copy's drain is a side measurement (scaling, the other client): if sluice fails there, the
 * run still checks and reports the main run, and says what failed.
 */
async function tryDrainCopy(label: string, run: RunPipeline, copies: CopyDrain, failures: string[]): Promise<number | null> {
  try {
    return await drainCopy(label, run, copies, log);
  } catch (err) {
    const message = (err as Error).message;
    console.error(`bench: the drain with ${label} failed: ${message}`);
    // sluice's own last word (its fatal error) says more than the line that introduces its log.
    const lines = message.split('\n').filter((l) => l.trim() !== '');
    failures.push(`${label}: ${lines.findLast((l) => l.startsWith('sluice: ')) ?? lines[0] ?? 'failed'}`);
    return null;
  }
}

function stateHeapOf(ids: number): StateHeapResult | undefined {
  if (ids === 0) return undefined;
  log(`[state] ${ids} dedupe ids through a lane store, in a process capped at --max-old-space-size=256`);
  const result = measureStateHeap(ids);
  log(`[state] heap max ${(result.heapMaxBytes / 2 ** 20).toFixed(1)} MB (live after GC ${((result.liveHeapMaxBytes ?? 0) / 2 ** 20).toFixed(1)} MB) with ${result.entries} ids (LMDB ${(result.lmdbBytes / 2 ** 20).toFixed(0)} MB on disk), ${result.insertSeconds.toFixed(1)}s`);
  return result;
}

/** Writes and prints the results; the exit code says whether sluice's output was exact. */
async function report(results: Results, outDir: string): Promise<number> {
  const files = await writeResults(results, outDir);
  printTable(results);
  log(`\nbench: wrote ${files.json} and ${files.svg}`);
  const { correctness } = results.sluice;
  if (correctness.correct) return 0;
  console.error(`\n${'!'.repeat(72)}\nBENCHMARK FAILED: sluice's output does not match the oracle\n${[...correctness.problems, ...correctness.examples].map((l) => `  ${l}`).join('\n')}\n${'!'.repeat(72)}`);
  return 1;
}

installWarningFilter();
let opts: BenchOptions | 'help';
try {
  opts = parseOptions(process.argv.slice(2), join(BENCH, 'results'));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
if (opts === 'help') {
  console.log(USAGE);
} else {
  main(opts).then(
    (code) => {
      process.exitCode = code;
      // kafkajs may leave a timer behind; the report is written.
      setTimeout(() => process.exit(code), 500).unref();
    },
    (err: unknown) => {
      console.error(`\nbench: failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
