// Wires one pipeline: startup checks (each failure a coded error naming what is wrong), internal
// topics, metrics, and the consumer group whose lanes do the work.
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SluiceConfig } from '../config/schema.ts';
import { resolveAdvertisedUrl } from '../config/advertised-url.ts';
import { connectionSecurity } from '../config/security-schema.ts';
import { GroupConsumer } from '../consumers/group-consumer.ts';
import { countTableRecords, laneFactory } from '../consumers/lane-factory.ts';
import type { CrossWindowTopics } from '../consumers/lane-factory.ts';
import { OpenLanes } from '../consumers/open-lanes.ts';
import { answerLocally } from '../consumers/interactive-query.ts';
import type { AggregateQuery, LocalAnswer } from '../model/aggregate-query.ts';
import { announceOwnership } from '../consumers/ownership.ts';
import { isSluiceError, sluiceError } from '../errors.ts';
import type { SluiceError } from '../errors.ts';
import type { StreamClient } from '../clients/port.ts';
import type { Logger } from '../log.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { PipelineMetrics } from '../observability/metrics.ts';
import { startTracing } from '../observability/tracing-sdk.ts';
import { changelogTopic, mergeChangelogTopic, ownersTopic, partialsTopic, storeDir } from '../model/naming.ts';
import type { OwnerDirectory } from '../model/ownership.ts';
import { shortestCloseIdleAfter } from '../processors/idle-close.ts';
import { isCrossPartition } from '../processors/partials.ts';
import type { PipelineSpec } from '../processors/types.ts';
import { ensureTopics } from '../sinks/topics.ts';
import { openWorkerTables } from './tables.ts';
import { startPipelineHttp } from './http.ts';
import type { MemberProgress } from '../http/probes.ts';
import type { InputFormat, OutputValueEncoder } from '../model/value-format.ts';
import type { Client } from '@confluentinc/schemaregistry';

/** as a lane waits for its store's previous owner: a worker restarting in this process */
const TABLE_LOCK_WAIT_MS = 10_000;

export interface RunningPipeline {
  metrics: PipelineMetrics;
  /** this member's partitions, for /readyz */
  progress(): MemberProgress;
  /** graceful: finishes the batch in flight, commits, leaves the group */
  stop(): Promise<void>;
  /** `topic/partition` of every open lane */
  openLanes(): string[];
  /** the lanes open in this instance, for interactive queries and ownership announcements */
  lanes: OpenLanes;
  /** what this instance's open lanes hold of a window and group (GET /aggregates), at most `limit` results and one more */
  query(q: AggregateQuery, limit: number): LocalAnswer;
  /** who owns each partition, when this pipeline serves HTTP itself (http.port not 0) */
  owners: OwnerDirectory | undefined;
  /** resolves (logged already) when the pipeline cannot go on, e.g. with SLUICE_INPUT_UNREADABLE; the caller stops it */
  failed: Promise<SluiceError>;
  /** `failed`'s exit code, in the shape the worker pool reports a crash */
  crashed: Promise<number>;
}

export function pipelineSpec(config: SluiceConfig): PipelineSpec {
  return {
    keyField: config.input.key,
    idField: config.dedupe?.idField,
    dedupeTtlMs: config.dedupe?.ttl,
    eventTimeField: config.input.eventTime?.field,
    maxRecordBytes: config.input.maxRecordBytes,
    normalize: config.normalize,
    windows: config.windows.map((w) => ({ ...w, groupBy: [...w.groupBy], aggregates: w.aggregates.map((a) => ({ ...a })) })),
    enrich: config.enrich.map((e) => ({ ...e, fields: [...e.fields] })),
    queryRetentionMs: config.http.queryRetention,
  };
}

function checkStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    // Worker threads share the pid: the probe's name must be this caller's alone.
    const probe = join(dir, `.write-probe-${process.pid}-${randomUUID()}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw sluiceError('SLUICE_STATE_DIR_UNWRITABLE', `state directory ${dir} cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * The configured client, its module loaded only now: a process on @platformatic/kafka never loads
 * kafkajs (and its patches), nor the other way round.
 */
async function createClient(config: SluiceConfig, log: Logger): Promise<StreamClient> {
  const options = { brokers: config.kafka.brokers, clientId: config.kafka.clientId, guarantee: config.application.guarantee, log, compression: config.output.compression, security: connectionSecurity(config.kafka) };
  if (config.kafka.client === 'platformatic') {
    const { PlatformaticStreamClient } = await import('../clients/platformatic/client.ts');
    return new PlatformaticStreamClient(options, config.application.id);
  }
  const { KafkajsStreamClient } = await import('../clients/kafkajs/client.ts');
  return new KafkajsStreamClient(options, config.application.id);
}

async function connectWithBackoff(client: StreamClient, config: SluiceConfig, log: Logger): Promise<void> {
  const deadline = Date.now() + config.kafka.connectTimeout;
  let delay = 250;
  for (;;) {
    try {
      await client.probe();
      return;
    } catch (err) {
      // refused credentials or an untrusted certificate: waiting changes nothing
      if (isSluiceError(err) && !err.canRetry) throw err;
      if (Date.now() + delay > deadline) {
        throw sluiceError('SLUICE_BROKERS_UNREACHABLE', `cannot reach Kafka brokers ${config.kafka.brokers.join(', ')} within ${Math.round(config.kafka.connectTimeout / 1000)}s: ${(err as Error).message}`, { cause: err });
      }
      log.warn(`brokers ${config.kafka.brokers.join(', ')} not reachable yet (${(err as Error).message}); retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** The configured client, connected once the brokers answer (within kafka.connectTimeout). */
export async function openClient(config: SluiceConfig, log: Logger): Promise<StreamClient> {
  const client = await createClient(config, log);
  // After the first contact, transient broker errors are retried by the client as usual.
  await connectWithBackoff(client, config, log);
  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return client;
}

export async function startPipeline(config: SluiceConfig, log: Logger): Promise<RunningPipeline> {
  const stateDir = resolve(config.application.stateDir);
  checkStateDir(stateDir);
  const advertisedUrl = resolveAdvertisedUrl(config.http);

  // Off unless OTEL_* variables ask for traces (docs/tracing.md); left again when the pipeline
  // stops or fails to start. Off, there is nothing to leave: tracing another pipeline of this
  // thread started later is not this one's to end.
  const tracing = await startTracing();
  if (tracing !== undefined) log.info('tracing on: OpenTelemetry spans per OTEL_* environment variables');
  const leaveTracing = () => tracing?.stop({ warn: (message) => log.warn(message) });
  try {
    const formats = await prepareFormats(config);
    const client = await openClient(config, log);
    try {
      return await startConnected(config, log, client, { stateDir, advertisedUrl }, formats, leaveTracing);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  } catch (err) {
    await leaveTracing();
    throw err;
  }
}

interface Formats {
  input?: InputFormat;
  output?: OutputValueEncoder;
}

/**
 * The value formats, checked before anything touches Kafka: a registry that does not answer, or a
 * bad schema file, fails startup. Loaded only when configured: the registry library alone takes
 * about two seconds to import.
 */
async function prepareFormats(config: SluiceConfig): Promise<Formats> {
  const registryConfig = config.schemaRegistry;
  if (registryConfig === undefined && config.input.schema === undefined) return {};
  const { createInputFormat } = await import('../formats/input-format.ts');
  const { checkRegistry, createRegistryClient } = await import('../formats/registry-client.ts');
  let registry: Client | undefined;
  if (registryConfig !== undefined) {
    registry = createRegistryClient(registryConfig);
    await checkRegistry(registry, registryConfig);
  }
  const input = createInputFormat(config, registry);
  if (config.output.format !== 'avro' || registry === undefined) return { input };
  const { registerOutputSchema } = await import('../formats/avro-output.ts');
  return { input, output: await registerOutputSchema(registry, config) };
}

/** Where this instance keeps its state, and where other instances send queries for it (none: it serves no HTTP). */
interface Locations {
  stateDir: string;
  advertisedUrl: string | undefined;
}

/** `leaveTracing`: the pipeline's share of tracing, left when it stops. */
async function startConnected(config: SluiceConfig, log: Logger, client: StreamClient, { stateDir, advertisedUrl }: Locations, formats: Formats, leaveTracing: () => Promise<void> | undefined): Promise<RunningPipeline> {
  const appId = config.application.id;
  const inputTopic = config.input.topic;
  const changelog = changelogTopic(appId);
  const spec = pipelineSpec(config);
  const cross = new Map<string, CrossWindowTopics>();
  for (const window of spec.windows) {
    if (isCrossPartition(spec, window)) cross.set(partialsTopic(appId, window.name), { window, partials: partialsTopic(appId, window.name), changelog: mergeChangelogTopic(appId, window.name) });
  }
  const internal = [...cross.values()].flatMap((c) => [c.partials, c.changelog]);
  const owners = ownersTopic(appId);
  const { partitions, tombstoneRetentionMs, outputPartitions } = await ensureTopics(client.topics, config, changelog, internal, owners, log);

  const metrics = createMetrics({ application: appId });
  let group: GroupConsumer | undefined = undefined;
  let failure: SluiceError | undefined;
  const progress = (): MemberProgress => group?.progress() ?? { joined: false, partitions: [] };
  const lanes = new OpenLanes();
  const queryContext = { spec, applicationId: appId, inputTopic, partitions };
  const query = (q: AggregateQuery, limit: number) => answerLocally(queryContext, lanes, q, limit);
  // Up before the tables load and the group is joined, so that probes see the startup: not ready.
  const http = await startPipelineHttp(config, log, client, advertisedUrl, {
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    failure: () => (failure === undefined ? undefined : `${failure.code}: ${failure.message}`),
    progress: async () => [progress()],
    query,
  });
  const closeServer = () => http.close();
  const stores = storeDir(stateDir, appId, inputTopic);
  // Whole tables are loaded before the group is joined, so no lane processes without them.
  let tables;
  try {
    tables = await openWorkerTables(config, spec, { client, partitions, stores, lockWaitMs: TABLE_LOCK_WAIT_MS, log, onApplied: countTableRecords(metrics) });
  } catch (err) {
    // A listening server would keep the process alive after it reported the failure.
    await closeServer();
    throw err;
  }
  // Each lane that opens here names this instance its owner; a worker thread announces the URL of
  // the main thread that serves its HTTP.
  const announcer = advertisedUrl === undefined ? undefined : announceOwnership({ lanes, topic: owners, url: advertisedUrl, openProducer: () => client.producer(), log });
  const createLane = laneFactory({
    config,
    spec,
    client,
    metrics,
    log,
    storeDir: stores,
    changelog,
    partitions,
    outputPartitions,
    tombstoneRetentionMs,
    cross,
    tables: tables.rows,
    coPartitioned: tables.coPartitioned,
    formats,
    openLanes: lanes,
  });

  const topics = new Map<string, number>([[inputTopic, partitions]]);
  for (const topic of cross.keys()) topics.set(topic, partitions);
  let fail!: (error: SluiceError) => void;
  const failed = new Promise<SluiceError>((resolve) => (fail = resolve));
  group = new GroupConsumer({
    client,
    groupId: appId,
    topics,
    maxBytesPerPartition: config.batching.maxBytes,
    backpressure: {
      maxInFlightBytes: config.backpressure.maxInFlightBytes,
      resumeBelowBytes: config.backpressure.resumeBelowBytes ?? Math.floor(config.backpressure.maxInFlightBytes / 2),
    },
    sessionTimeoutMs: config.kafka.sessionTimeout,
    closeIdleAfterMs: shortestCloseIdleAfter(spec.windows),
    createLane,
    metrics,
    log,
    onFatal: (error) => {
      if (failure !== undefined) return;
      failure = error;
      log.error(`${error.code}: ${error.message}; stopping`);
      fail(error);
    },
  });
  try {
    await group.start();
  } catch (err) {
    await announcer?.close();
    await tables.close();
    await closeServer();
    throw err;
  }
  const crossNote = cross.size > 0 ? `, cross-partition windows merged through ${[...cross.keys()].join(', ')}` : '';
  log.info(`pipeline ${appId} running: ${inputTopic} (${partitions} partitions) -> ${config.output.topic}, ${config.application.guarantee} on ${client.name}${crossNote}, state in ${stores}`);

  let stopped: Promise<void> | undefined;
  const joined = group;
  return {
    metrics,
    progress,
    openLanes: () => joined.openLanes(),
    lanes,
    query,
    owners: http.owners,
    failed,
    crashed: failed.then((error) => error.exitCode),
    stop: () =>
      (stopped ??= (async () => {
        await joined.stop();
        await announcer?.close();
        await tables.close();
        // Before the client: POST /events produces through it.
        await closeServer();
        await client.close().catch(() => undefined);
        await leaveTracing();
        log.info(`pipeline ${appId} stopped`);
      })()),
  };
}
