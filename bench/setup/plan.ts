// What one run is made of, decided before anything runs: its id and work directory, the three
// pipelines it starts sluice with, and every topic and group it creates; then the topics and
// backlogs it starts from, and the cleanup that removes them all again.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/kafka-broker.ts';
import type { LoadClient } from '../load/client.ts';
import type { BenchAdmin, BrokerChoice } from './broker.ts';
import type { BenchOptions, ClientName } from './options.ts';
import { sluiceTopics, writeRunPipeline } from './pipeline-config.ts';
import type { RunNames, RunPipeline } from './pipeline-config.ts';

/**
 * The ceilings drain several times faster than sluice: a bigger backlog keeps their measured
 * window (20% to 80% of it) long enough to mean something.
 */
const CEILING_BACKLOG_FACTOR = 3;

type Log = (line: string) => void;

export interface CeilingTopics {
  input: string;
  output: string;
  groupId: string;
}

export interface RunPlan {
  opts: BenchOptions;
  broker: BrokerChoice;
  runId: string;
  /** the work directory: pipelines, sluice's logs and state, the produced-records log */
  dir: string;
  /** the measured run */
  main: RunPipeline;
  /** the scaling check: the same job on one worker, drained from its own copy of the backlog */
  oneWorker: RunPipeline;
  /** the client the main run does not use, which runs the same job from a third copy */
  otherClient: ClientName;
  other: RunPipeline;
  ceilings: Record<ClientName, CeilingTopics>;
  /** the group that reads sluice's output for the correctness check */
  verifyGroup: string;
  /** the load generator's log of the main input, which the oracle replays */
  jsonl: string;
  drainTimeoutMs: number;
}

export async function planRun(opts: BenchOptions, broker: BrokerChoice, startedAt: Date): Promise<RunPlan> {
  const runId = `${startedAt.getTime().toString(36)}${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const common = { brokers: broker.brokers, emit: opts.emit, outputPartitioning: opts.outputPartitioning };
  const main = writeRunPipeline(dir, { ...common, runId, stateDir: join(dir, 'state'), metricsPort: await freePort(), client: opts.client });
  if (main.config.input.eventTime === undefined) throw new Error('bench/setup/pipeline.yaml must take event time from a field: the oracle cannot know LogAppendTime timestamps');
  // The copies run one after the other, after the main run: they share a port.
  let copyPort = await freePort();
  while (copyPort === main.config.http.port) copyPort = await freePort();
  const copy = (name: string, names: Pick<RunNames, 'runId' | 'client' | 'workers'>): RunPipeline => {
    const copyDir = join(dir, name);
    mkdirSync(copyDir);
    return writeRunPipeline(copyDir, { ...common, ...names, stateDir: join(copyDir, 'state'), metricsPort: copyPort });
  };
  const otherClient = opts.client === 'kafkajs' ? 'platformatic' : 'kafkajs';
  const ceiling = (suffix: string): CeilingTopics => ({ input: `bench-${runId}-ceiling${suffix}-in`, output: `bench-${runId}-ceiling${suffix}-out`, groupId: `bench-${runId}-ceiling${suffix}` });
  return {
    opts,
    broker,
    runId,
    dir,
    main,
    oneWorker: copy('one-worker', { runId: `${runId}-w1`, client: opts.client, workers: 1 }),
    otherClient,
    other: copy(`client-${otherClient}`, { runId: `${runId}-${otherClient.slice(0, 3)}`, client: otherClient }),
    ceilings: { kafkajs: ceiling(''), platformatic: ceiling('-platformatic') },
    verifyGroup: `bench-${runId}-verify`,
    jsonl: join(dir, 'produced.jsonl'),
    drainTimeoutMs: Math.max(120_000, opts.backlog),
  };
}

/** `perPartition`: records per partition, the same in each topic the backlog went to */
export type Backlog = Awaited<ReturnType<LoadClient['backlog']>>;

/** one backlog for sluice's three inputs, a bigger one for the ceilings' */
export interface Backlogs {
  sluice: Backlog;
  ceiling: Backlog;
}

/** Creates the inputs, starts the load generator and produces every backlog, each in a transaction held open. */
export async function provision(plan: RunPlan, admin: BenchAdmin, load: LoadClient, log: Log): Promise<Backlogs> {
  const { opts, main } = plan;
  const inputs = [main, plan.oneWorker, plan.other].map((r) => r.config.input.topic);
  const ceilings = Object.values(plan.ceilings);
  for (const topic of [...inputs, ...ceilings.flatMap((c) => [c.input, c.output])]) await admin.createTopic(topic, opts.partitions);
  const model = { partitions: opts.partitions, players: opts.players, zipf: opts.zipf, duplicateRatio: opts.duplicateRatio, jitterMs: opts.jitterMs, seed: opts.seed };
  await load.init({ brokers: plan.broker.brokers, topic: main.config.input.topic, jsonl: plan.jsonl, ...model });

  log(`[backlog] producing ${opts.backlog} events to each of ${inputs.join(', ')}, each in a transaction held open`);
  const sluice = await load.backlog(opts.backlog, inputs);
  const ceilingEvents = opts.backlog * CEILING_BACKLOG_FACTOR;
  log(`[backlog] producing ${ceilingEvents} events to each of ${ceilings.map((c) => c.input).join(', ')}`);
  const ceiling = await load.backlog(ceilingEvents, ceilings.map((c) => c.input));
  log(`[backlog] done in ${((sluice.ms + ceiling.ms) / 1000).toFixed(1)}s`);
  return { sluice, ceiling };
}

/** Deletes every topic and group of the run and its work directory, unless --keep. */
export async function cleanup(plan: RunPlan, admin: BenchAdmin, log: Log): Promise<void> {
  const runs = [plan.main, plan.oneWorker, plan.other];
  const ceilings = Object.values(plan.ceilings);
  const topics = [...runs.flatMap((r) => sluiceTopics(r.config)), ...ceilings.flatMap((c) => [c.input, c.output])];
  if (plan.opts.keep) {
    log(`bench: kept topics ${topics.join(', ')} and ${plan.dir}`);
    return;
  }
  // The output of an update-mode run is large; a shared dev broker should not keep it.
  await admin.deleteTopics(topics).catch((err: Error) => log(`bench: could not delete topics: ${err.message}`));
  await admin.deleteGroups([...runs.map((r) => r.config.application.id), ...ceilings.map((c) => c.groupId), plan.verifyGroup]);
  rmSync(plan.dir, { recursive: true, force: true });
}
