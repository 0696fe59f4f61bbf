// `npm run bench [-- --quick]`: sluice's throughput against the exactly-once ceiling of its Kafka
// client, its latency through a steady -> burst -> steady rate profile, its GC and memory, and a
// check against the oracle that nothing was lost or double-counted. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/kafka-broker.ts';
import { installWarningFilter } from '../src/observability/warnings.ts';
import { timeline } from './report/analysis.ts';
import { BenchAdmin, chooseBroker } from './setup/broker.ts';
import type { BrokerChoice } from './setup/broker.ts';
import { runCeiling } from './ceiling/ceiling.ts';
import type { CeilingClient, CeilingResult } from './ceiling/ceiling.ts';
import { compare, readOutput } from './oracle/correctness.ts';
import { LoadClient } from './load/client.ts';
import { runOracleParallel } from './oracle/pool.ts';
import { flushWindows, measureCapacity, runProfile } from './measure/phases.ts';
import type { Ctx } from './measure/phases.ts';
import { USAGE, parseOptions } from './setup/options.ts';
import type { BenchOptions } from './setup/options.ts';
import { expectedLanes, expectedWorkers, hasCrossPartitionWindows, oracleConfig, writeRunPipeline } from './setup/pipeline-config.ts';
import type { RunPipeline } from './setup/pipeline-config.ts';
import { evaluateTargets, machine, printTable, ratios, sluiceFigures, writeResults } from './report/results.ts';
import type { Results } from './report/results.ts';
import { Scraper } from './measure/scraper.ts';
import { SluiceProcess } from './measure/sluice-process.ts';
import { findSustainableRate } from './measure/sustainable.ts';
import type { StateHeapResult } from './in-process/state-heap.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const CEILING_BACKLOG_FACTOR = 3;
const log = (line: string) => console.log(line);
const NOTES = [
  'Latency is per input record, from its Kafka append time (LogAppendTime topic) to the commit that made its effect visible.',
  'Latency percentiles are bucket-interpolated from sluice_event_latency_seconds deltas between phase boundaries (linear inside a bucket); maxMs is the upper bound of the highest non-empty bucket.',
  "A phase's latency is that of the records committed during it: a backlog built in the burst shows up in the phase after it.",
  'GC pauses are observed in the sluice process (bench/measure/gc-probe.ts); gc.histogram repeats prom-client nodejs_gc_duration_seconds for comparison.',
  'Throughput is a backlog drain rate from committed offsets, timed between 20% and 80% of the backlog committed; sluice and the ceiling drain the same events.',
];

async function main(opts: BenchOptions): Promise<number> {
  const startedAt = new Date();
  const host = machine();
  const broker = await chooseBroker(log);
  try {
    return await benchmark(opts, broker, startedAt, host);
  } finally {
    await broker.release();
  }
}

async function benchmark(opts: BenchOptions, broker: BrokerChoice, startedAt: Date, host: Record<string, unknown>): Promise<number> {
  const runId = `${startedAt.getTime().toString(36)}${randomBytes(2).toString('hex')}`;
  const runDir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const pipeline = writeRunPipeline(join(BENCH, 'setup', 'pipeline.yaml'), runDir, { brokers: broker.brokers, runId, stateDir: join(runDir, 'state'), metricsPort: await freePort(), emit: opts.emit, client: opts.client });
  const { config } = pipeline;
  if (config.input.eventTime === undefined) throw new Error('bench/pipeline.yaml must take event time from a field: the oracle cannot know LogAppendTime timestamps');
  // The scaling check: the same job on one worker, drained from its own copy of the backlog.
  let singlePort = await freePort();
  while (singlePort === config.metrics.port) singlePort = await freePort();
  const singleDir = join(runDir, 'one-worker');
  mkdirSync(singleDir);
  const single = writeRunPipeline(join(BENCH, 'setup', 'pipeline.yaml'), singleDir, { brokers: broker.brokers, runId: `${runId}-w1`, stateDir: join(singleDir, 'state'), metricsPort: singlePort, emit: opts.emit, workers: 1, client: opts.client });
  // The other Kafka client runs the same job on all workers, from its own copy of the backlog.
  const otherClient = opts.client === 'kafkajs' ? 'platformatic' : 'kafkajs';
  const otherDir = join(runDir, `client-${otherClient}`);
  mkdirSync(otherDir);
  const other = writeRunPipeline(join(BENCH, 'setup', 'pipeline.yaml'), otherDir, { brokers: broker.brokers, runId: `${runId}-${otherClient.slice(0, 3)}`, stateDir: join(otherDir, 'state'), metricsPort: singlePort, emit: opts.emit, client: otherClient });
  const admin = await BenchAdmin.connect(broker.brokers);
  const ceilingIn = `bench-${runId}-ceiling-in`;
  const ceilingOut = `bench-${runId}-ceiling-out`;
  const ceilingGroup = `bench-${runId}-ceiling`;
  const pltIn = `bench-${runId}-ceiling-platformatic-in`;
  const pltOut = `bench-${runId}-ceiling-platformatic-out`;
  const verifyGroup = `bench-${runId}-verify`;
  const topics = [config.input.topic, ceilingIn, ceilingOut, pltIn, pltOut, single.config.input.topic, single.config.output.topic, single.config.deadLetter.topic, `${single.config.application.id}-changelog`];
  for (const c of [other.config]) topics.push(c.input.topic, c.output.topic, c.deadLetter.topic, `${c.application.id}-changelog`);
  const load = new LoadClient();
  let sluice: SluiceProcess | undefined;
  try {
    log(`bench: ${opts.quick ? 'quick' : 'full'} run ${runId} on ${broker.brokers} (${broker.source}); ${opts.partitions} partitions, emit ${opts.emit}; work dir ${runDir}`);
    await admin.createTopic(config.input.topic, opts.partitions);
    await admin.createTopic(ceilingIn, opts.partitions);
    await admin.createTopic(ceilingOut, opts.partitions);
    await admin.createTopic(pltIn, opts.partitions);
    await admin.createTopic(pltOut, opts.partitions);
    await admin.createTopic(single.config.input.topic, opts.partitions);
    await admin.createTopic(other.config.input.topic, opts.partitions);
    const jsonl = join(runDir, 'produced.jsonl');
    await load.init({ brokers: broker.brokers, topic: config.input.topic, jsonl, partitions: opts.partitions, players: opts.players, zipf: opts.zipf, duplicateRatio: opts.duplicateRatio, jitterMs: opts.jitterMs, seed: opts.seed });

    const backlogTopics = [config.input.topic, single.config.input.topic, other.config.input.topic];
    log(`[backlog] producing ${opts.backlog} events to each of ${backlogTopics.join(', ')}, each in a transaction held open`);
    const backlog = await load.backlog(opts.backlog, backlogTopics);
    // The ceilings drain several times faster than sluice: a bigger backlog keeps their measured
    // window (20% to 80% of it) long enough to mean something.
    const ceilingBacklogEvents = opts.backlog * CEILING_BACKLOG_FACTOR;
    log(`[backlog] producing ${ceilingBacklogEvents} events to each of ${ceilingIn}, ${pltIn}`);
    const ceilingBacklog = await load.backlog(ceilingBacklogEvents, [ceilingIn, pltIn]);
    log(`[backlog] done in ${((backlog.ms + ceilingBacklog.ms) / 1000).toFixed(1)}s`);

    const members = opts.ceilingMembers ?? expectedWorkers(config);
    const drainTimeout = Math.max(120_000, opts.backlog);
    const ceilingOf = async (client: CeilingClient, input: string, output: string, groupId: string): Promise<CeilingResult> => {
      log(`[ceiling ${client}] pass-through consume -> produce -> sendOffsets -> commit, one transactional producer per partition, ${members} member(s)`);
      const result = await runCeiling({
        client,
        init: { brokers: broker.brokers, input, output, groupId, partitions: opts.partitions, maxRecords: config.batching.maxRecords, maxBytes: config.batching.maxBytes },
        members,
        admin,
        release: async () => void (await load.release(input)),
        targets: ceilingBacklog.perPartition,
        timeoutMs: drainTimeout,
        log,
      });
      log(`[ceiling ${client}] drained at ${Math.round(result.throughput)}/s (measured over ${result.measuredSeconds.toFixed(1)}s, ${result.transactions} transactions)`);
      if (!opts.keep) await admin.deleteTopics([input, output]).catch(() => undefined);
      return result;
    };
    // Each client's sluice is compared with that client's own ceiling; the main run's ratio is
    // to the ceiling of the client it runs on.
    const clientCeilings = {
      kafkajs: await ceilingOf('kafkajs', ceilingIn, ceilingOut, ceilingGroup),
      platformatic: await ceilingOf('platformatic', pltIn, pltOut, `${ceilingGroup}-platformatic`),
    };
    const ceiling = clientCeilings[opts.client];

    log(`[capacity] starting sluice; its ${opts.backlog}-event backlog stays hidden until the group has settled`);
    sluice = new SluiceProcess(pipeline.path, join(runDir, 'sluice.log'));
    const scraper = new Scraper(config.metrics.port, sluice.child.pid);
    const ctx: Ctx = { admin, load, sluice, scraper, groupId: config.application.id, inputTopic: config.input.topic, lanes: expectedLanes(config, opts.partitions), neighbours: { broker: broker.pid }, log };
    const capacity = await measureCapacity(ctx, backlog.perPartition, async () => void (await load.release(config.input.topic)), drainTimeout);
    const workers = sluice.workers();
    if (workers !== members) log(`[capacity] note: sluice runs ${workers} worker(s), the ceiling ran ${members} member(s)`);

    // The steady phase is a share of what sluice keeps up with beside the load generator, found
    // by stepping the rate up; a fixed --rate skips the search.
    const search = opts.rate === undefined ? await findSustainableRate(ctx, capacity.throughput, opts.stepSeconds, drainTimeout) : undefined;
    const rate = opts.rate ?? Math.max(1, Math.round(opts.load * (search?.rate ?? capacity.throughput)));
    const phases = [
      { name: 'steady', rate, seconds: opts.steadySeconds },
      { name: 'burst', rate: Math.round(rate * opts.burstFactor), seconds: opts.burstSeconds },
      { name: 'steady-after', rate, seconds: opts.steadySeconds },
    ];
    const profile = await runProfile(ctx, phases, 10 * 60_000);
    const flushed = await flushWindows(ctx, 120_000);
    const exitCode = await sluice.stop();
    // Before the load generator closes: it holds the scaling backlog's transaction open.
    const drainOf = (label: string, run: RunPipeline, dir: string) =>
      measureDrain(label, run.path, join(dir, 'sluice.log'), { admin, load, groupId: run.config.application.id, inputTopic: run.config.input.topic, metricsPort: run.config.metrics.port, lanes: expectedLanes(run.config, opts.partitions), targets: backlog.perPartition, timeoutMs: drainTimeout });
    const oneWorker = await drainOf('one worker', single, singleDir);
    const otherThroughput = await drainOf(`${otherClient} client`, other, otherDir);
    const closed = await load.close();
    log(`bench: sluice stopped (exit ${exitCode}); checking the output against the oracle`);

    // The oracle runs on worker threads while this thread reads sluice's output.
    const [oracle, out] = await Promise.all([
      runOracleParallel(jsonl, opts.partitions, oracleConfig(config), hasCrossPartitionWindows(config)),
      readOutput(broker.brokers, config.output.topic, verifyGroup, flushed.outputsFinal, 2000, 3 * 60_000),
    ]);
    const ends = await admin.ends(config.input.topic);
    const offsetProblems = closed.ends.flatMap((n, p) => (ends.get(p) === n && oracle.ends[p] === n ? [] : [`partition ${p}: generator counted end ${n}, log ${oracle.ends[p]}, topic ${ends.get(p)}`]));
    const correctness = compare(oracle, out, { processed: flushed.recordsIn, duplicates: flushed.duplicates, deadLetters: flushed.deadLetters });
    if (offsetProblems.length > 0) {
      correctness.correct = false;
      correctness.problems.push(`the produced log does not match the input topic (${offsetProblems.join('; ')})`);
    }

    const stateHeap = measureStateHeap(opts.stateIds);
    const sluiceResults = sluiceFigures({ capacity, profile, flushed, samples: scraper.samples, gcEvents: sluice.gcEvents, correctness, workers, exitCode });
    const finishedAt = new Date();
    const partial = { sluice: sluiceResults, ratios: ratios(sluiceResults, ceiling.throughput), stateHeap };
    const results: Results = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
      mode: opts.quick ? 'quick' : 'full',
      machine: { ...host, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
      broker: { source: broker.source, brokers: broker.brokers, kafkaVersion: broker.kafkaVersion },
      options: { ...opts },
      pipeline: pipeline.raw,
      profile: { cores: profile.cores, search: search ?? null, sustainableRate: search?.rate ?? null, steadyRate: rate, burstRate: phases[1]!.rate, burstFactor: opts.burstFactor, load: opts.rate === undefined ? opts.load : null, phases, backlog: { events: opts.backlog, ceilingEvents: ceilingBacklogEvents, produceSeconds: (backlog.ms + ceilingBacklog.ms) / 1000 } },
      load: { generated: closed.generated, duplicates: closed.duplicates, duplicateRatio: Math.round((closed.duplicates / closed.generated) * 1000) / 1000, perPartition: closed.perPartition, players: opts.players, zipf: opts.zipf, jitterMs: opts.jitterMs },
      ...partial,
      ceiling,
      clientCeilings,
      clients: clientComparison(opts.client, otherClient, { [opts.client]: sluiceResults.throughput, [otherClient]: otherThroughput } as Record<ClientName, number>, clientCeilings),
      scaling: { workers: { 1: Math.round(oneWorker), [workers]: Math.round(sluiceResults.throughput) }, speedup: Math.round((sluiceResults.throughput / oneWorker) * 100) / 100 },
      targets: evaluateTargets(partial),
      notes: NOTES,
      timeline: timeline(scraper.samples, load.ticks, sluiceResults.steady.fromMs, profile.drained.t),
    };
    const stamp = `${startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-${results.mode}`;
    const files = await writeResults(results, opts.outDir, stamp);
    printTable(results);
    log(`\nbench: wrote ${files.json} and ${files.svg}`);
    if (!correctness.correct) {
      console.error(`\n${'!'.repeat(72)}\nBENCHMARK FAILED: sluice's output does not match the oracle\n${[...correctness.problems, ...correctness.examples].map((l) => `  ${l}`).join('\n')}\n${'!'.repeat(72)}`);
      return 1;
    }
    return 0;
  } finally {
    load.kill();
    if (sluice?.alive()) await sluice.stop(10_000);
    await cleanup(opts, admin, [...topics, config.output.topic, config.deadLetter.topic, `${config.application.id}-changelog`], [config.application.id, single.config.application.id, other.config.application.id, ceilingGroup, `${ceilingGroup}-platformatic`, verifyGroup], runDir);
  }
}

interface DrainRun {
  admin: BenchAdmin;
  load: LoadClient;
  groupId: string;
  inputTopic: string;
  metricsPort: number;
  lanes: number;
  targets: readonly number[];
  timeoutMs: number;
}

/** Drains a copy of the backlog with another configuration (one worker, the other client). */
async function measureDrain(label: string, configPath: string, logPath: string, run: DrainRun): Promise<number> {
  const tag = label.replace(/ /g, '-');
  log(`[${tag}] the same job with ${label}, draining its own copy of the backlog`);
  const sluice = new SluiceProcess(configPath, logPath);
  const scraper = new Scraper(run.metricsPort, sluice.child.pid);
  try {
    const ctx: Ctx = { admin: run.admin, load: run.load, sluice, scraper, groupId: run.groupId, inputTopic: run.inputTopic, lanes: run.lanes, neighbours: {}, log: (line) => log(line.replace('[capacity', `[${tag}`)) };
    const capacity = await measureCapacity(ctx, run.targets, async () => void (await run.load.release(run.inputTopic)), run.timeoutMs);
    log(`[${tag}] drained at ${Math.round(capacity.throughput)}/s`);
    return capacity.throughput;
  } finally {
    scraper.stop();
    await sluice.stop(30_000);
  }
}

/** sluice on each client against that client's ceiling: the measurement behind the default client. */
type ClientName = 'kafkajs' | 'platformatic';

function clientComparison(main: ClientName, measuredAlso: ClientName, throughputs: Record<ClientName, number>, ceilings: Record<ClientName, CeilingResult>) {
  const of = (client: ClientName) => ({ throughput: Math.round(throughputs[client]), ceiling: Math.round(ceilings[client].throughput), ratio: Math.round((throughputs[client] / ceilings[client].throughput) * 1000) / 1000 });
  const kafkajs = of('kafkajs');
  const platformatic = of('platformatic');
  return { main, measuredAlso, kafkajs, platformatic, platformaticOverKafkajs: Math.round((platformatic.throughput / kafkajs.throughput) * 100) / 100 };
}

/** bench/in-process/state-heap.ts in a process of its own, with the 256 MB heap the target allows. */
function measureStateHeap(ids: number): StateHeapResult | undefined {
  if (ids === 0) return undefined;
  log(`[state] ${ids} dedupe ids through a lane store, in a process capped at --max-old-space-size=256`);
  const out = execFileSync(process.execPath, ['--max-old-space-size=256', '--expose-gc', join(BENCH, 'in-process', 'state-heap.ts'), String(ids)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const result = JSON.parse(out.trim().split('\n').pop()!) as StateHeapResult;
  log(`[state] heap max ${(result.heapMaxBytes / 2 ** 20).toFixed(1)} MB (live after GC ${((result.liveHeapMaxBytes ?? 0) / 2 ** 20).toFixed(1)} MB) with ${result.entries} ids (LMDB ${(result.lmdbBytes / 2 ** 20).toFixed(0)} MB on disk), ${result.insertSeconds.toFixed(1)}s`);
  return result;
}

async function cleanup(opts: BenchOptions, admin: BenchAdmin, topics: string[], groups: string[], runDir: string): Promise<void> {
  if (opts.keep) {
    log(`bench: kept topics ${topics.join(', ')} and ${runDir}`);
  } else {
    // The output of an update-mode run is large; a shared dev broker should not keep it.
    await admin.deleteTopics(topics).catch((err: Error) => log(`bench: could not delete topics: ${err.message}`));
    await admin.deleteGroups(groups);
    rmSync(runDir, { recursive: true, force: true });
  }
  await admin.disconnect();
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
