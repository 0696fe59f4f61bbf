// The hot path without a broker: the bench pipeline's events go through sluice's own lanes (built
// by laneFactory, as the group consumer builds them: decode → dedupe → aggregate → outputs →
// changelog records → LMDB commit, chunked by the lane's batch controller) and out through
// sluice's transactional sink into kafkajs's produce-request encoding (offline-kafka.ts), so
// allocation per event and CPU per event can be compared between commits without network noise.
// With --profile it also writes a sampling heap profile that keeps collected objects, which is
// what says *where* the bytes are allocated (open it in Chrome DevTools, or read the summary).
// With --trace every event carries a `traceparent` header and tracing is on, exporting to an
// in-memory exporter through sdk-node's batch span processor: the difference to a run without is
// what tracing costs (docs/tracing.md).
//
//   node bench/in-process/hot-path.ts [--events 200000] [--partitions 8] [--emit update|final] [--fetch-bytes N] [--enrich] [--trace] [--profile]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { OfflineKafka } from './offline-kafka.ts';
import { DURATION_MESSAGE, parseDuration } from '../../src/config/schema.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { chunkEnd } from '../../src/consumers/chunks.ts';
import type { Lane } from '../../src/consumers/lane.ts';
import { laneFactory } from '../../src/consumers/lane-factory.ts';
import { pipelineSpec } from '../../src/entry/app.ts';
import type { GroupMembership } from '../../src/clients/port.ts';
import { createLogger } from '../../src/log.ts';
import type { InputRecord } from '../../src/model/records.ts';
import { changelogTopic } from '../../src/model/naming.ts';
import { AllocationMeter } from '../../src/observability/alloc-meter.ts';
import { startTracing } from '../../src/observability/tracing-sdk.ts';
import { BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { counterTotal, createMetrics } from '../../src/observability/metrics.ts';
import type { PipelineMetrics } from '../../src/observability/metrics.ts';
import { LoadModel } from '../load/model.ts';
import { tableFields } from '../../src/processors/enrich.ts';
import { loadTableFile } from '../../src/state/table-file.ts';
import { TableStore } from '../../src/state/table-store.ts';
import { benchPipeline, crossPartitionWindows } from '../setup/pipeline-config.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    partitions: { type: 'string', default: '8' },
    emit: { type: 'string', default: 'update' },
    profile: { type: 'boolean', default: false },
    // A caught-up lane's fetches are a few kB, so its transactions are small and their fixed cost
    // dominates: --fetch-bytes 4000 measures that regime (the default is the bulk one).
    'fetch-bytes': { type: 'string' },
    // Every event also looks its player up in a 10k-row file table (tier, region), as
    // issue #13's enrichment does: the difference to a run without is what a lookup costs.
    enrich: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    // http.queryRetention, e.g. 0s against 5m: what keeping closed windows' finals costs (the
    // template's default otherwise). Only finals pay for it: run enough events for windows to close.
    'query-retention': { type: 'string' },
  },
});
const EVENTS = Number(values.events);
const PARTITIONS = Number(values.partitions);

const heartbeat = async (): Promise<void> => undefined;
const refuse = (): never => {
  throw new Error('exactly-once lanes commit their offsets in their transactions, never through the group');
};
const NO_GROUP: GroupMembership = { start: refuse, pause: refuse, resume: refuse, commitOffset: refuse, stop: refuse };

/** A partition's lane and the records it has yet to be handed. */
interface Feed {
  lane: Lane;
  records: InputRecord[];
  next: number;
}

/** The bench's events per partition, generated before anything is measured. */
function generateInput(): InputRecord[][] {
  const model = new LoadModel({ partitions: PARTITIONS, players: 10_000, zipf: 1, duplicateRatio: 0.2, jitterMs: 2000, seed: 1 });
  const perPartition: InputRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < EVENTS; i++) {
    // 10k events/s of event time, so windows open and close as in a real run.
    const now = t0 + Math.floor(i / 10);
    const r = model.next(now);
    const list = perPartition[r.partition]!;
    const record: InputRecord = { offset: String(list.length), key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: String(now) };
    // As a client delivers it: one producer span per event.
    if (values.trace) record.headers = { traceparent: Buffer.from(`00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`) };
    list.push(record);
  }
  return perPartition;
}

const PLAYERS = 10_000;

/** The bench pipeline with a players table and a lookup copying two fields into every event. */
function withEnrichment(config: SluiceConfig, dir: string): SluiceConfig {
  const file = join(dir, 'players.jsonl');
  const rows: string[] = [];
  for (let i = 0; i < PLAYERS; i++) rows.push(JSON.stringify({ playerId: `player-${i}`, tier: ['gold', 'silver', 'bronze'][i % 3], region: ['eu', 'us', 'apac'][i % 3], bio: 'x'.repeat(200) }));
  writeFileSync(file, rows.join('\n'));
  return {
    ...config,
    tables: { players: { source: { file, key: 'playerId' }, global: false } },
    enrich: [{ table: 'players', on: 'playerId', fields: ['tier', 'region'], missing: 'keep' }],
  };
}

function withQueryRetention(config: SluiceConfig, retention: string | undefined): SluiceConfig {
  if (retention === undefined) return config;
  const ms = parseDuration(retention);
  if (ms === undefined) throw new Error(`--query-retention: ${DURATION_MESSAGE}`);
  return { ...config, http: { ...config.http, queryRetention: ms } };
}

/** The file tables of `config`, loaded as a worker loads them. */
async function openTables(config: SluiceConfig, dir: string): Promise<Map<string, TableStore>> {
  const tables = new Map<string, TableStore>();
  for (const [name, table] of Object.entries(config.tables)) {
    if (!('file' in table.source)) continue;
    const store = await TableStore.open({ path: join(dir, `table-${name}.mdb`), fields: tableFields(config.enrich).get(name) ?? [], keyField: table.source.key, signature: name, lockWaitMs: 1000 });
    await loadTableFile(store, table.source.file, table.source.format);
    tables.set(name, store);
  }
  return tables;
}

/** One open lane per partition, each on a fresh store in `dir`. */
async function openFeeds(config: SluiceConfig, kafka: OfflineKafka, metrics: PipelineMetrics, dir: string, tables: ReadonlyMap<string, TableStore>): Promise<Feed[]> {
  if (config.application.guarantee !== 'exactly-once') throw new Error('the hot path measures the exactly-once path');
  if (crossPartitionWindows(config).length > 0) throw new Error('the hot path has no merge lanes: its pipeline must keep every window within a partition');
  const createLane = laneFactory({
    config,
    spec: pipelineSpec(config),
    client: kafka.client(config.output.compression),
    metrics,
    log: createLogger('warn', 'hot-path'),
    storeDir: dir,
    changelog: changelogTopic(config.application.id),
    partitions: PARTITIONS,
    outputPartitions: PARTITIONS,
    // Every store starts empty on an empty changelog: nothing is ever restored.
    tombstoneRetentionMs: Number.POSITIVE_INFINITY,
    cross: new Map(),
    tables,
  });
  const feeds = generateInput().map((records, p) => ({ lane: createLane(config.input.topic, p, NO_GROUP), records, next: 0 }));
  for (const f of feeds) await f.lane.open(heartbeat);
  return feeds;
}

/**
 * What the group consumer does, without a broker: each lane in turn is handed its partition's
 * next fetch (about `batching.maxBytes`, the per-partition fetch size sluice asks for) with the
 * rest of the partition as its lag, and the lane cuts it into transactions as in production.
 */
async function feedAll(feeds: Feed[], fetchBytes: number): Promise<void> {
  const flow = { holdOutput: () => undefined, releaseOutput: () => undefined };
  for (let active = true; active; ) {
    active = false;
    for (const f of feeds) {
      if (f.next >= f.records.length) continue;
      active = true;
      const end = chunkEnd(f.records, f.next, Number.MAX_SAFE_INTEGER, fetchBytes);
      await f.lane.process(f.records.slice(f.next, end), heartbeat, { ...flow, lagBeyond: f.records.length - end });
      f.next = end;
    }
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hot-path-'));
  const plain = withQueryRetention(benchPipeline(values.emit === 'final' ? 'final' : 'update'), values['query-retention']);
  const config = values.enrich ? withEnrichment(plain, dir) : plain;
  const kafka = new OfflineKafka(PARTITIONS);
  const metrics = createMetrics({ application: config.application.id });
  const tables = await openTables(config, dir);
  const spans = values.trace ? new InMemorySpanExporter() : undefined;
  const exporting = spans === undefined ? undefined : new BatchSpanProcessor({ exporter: spans });
  const tracing = exporting === undefined ? undefined : await startTracing({ spanProcessors: [exporting] });
  const feeds = await openFeeds(config, kafka, metrics, dir, tables);
  const session = new Session();
  if (values.profile) {
    session.connect();
    await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const meter = new AllocationMeter();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const before = meter.allocatedBytes();
  await feedAll(feeds, values['fetch-bytes'] === undefined ? config.batching.maxBytes : Number(values['fetch-bytes']));
  const allocated = meter.allocatedBytes() - before;
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  meter.stop();
  await exporting?.forceFlush();
  const spanCount = spans?.getFinishedSpans().length;
  await tracing?.stop();

  const summary = {
    events: EVENTS,
    enrich: values.enrich,
    trace: values.trace,
    queryRetentionMs: config.http.queryRetention,
    ...(spanCount === undefined ? {} : { spansPerEvent: Number((spanCount / EVENTS).toFixed(3)) }),
    transactions: await counterTotal(metrics.commits),
    outputsAndChangelogRecords: kafka.records,
    encodedBytesPerEvent: Math.round(kafka.bytes / EVENTS),
    allocBytesPerEvent: Math.round(allocated / EVENTS),
    cpuMicrosPerEvent: Number(((cpu.user + cpu.system) / EVENTS).toFixed(1)),
    eventsPerSecond: Math.round(EVENTS / (wallMs / 1000)),
  };
  console.log(JSON.stringify(summary, null, 2));
  if (values.profile) await writeProfile(session, allocated);
  for (const f of feeds) await f.lane.close();
  for (const t of tables.values()) await t.close();
  rmSync(dir, { recursive: true, force: true });
}

interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapProfileNode[];
}

async function writeProfile(session: Session, allocated: number): Promise<void> {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapProfileNode } };
  const file = join(tmpdir(), `sluice-hot-path-${Date.now()}.heapprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`heap profile: ${file}`);
  printTopAllocators(profile.head, allocated);
}

/** Self bytes by function (file:line), the top 25, as shares of everything sampled. */
function printTopAllocators(head: HeapProfileNode, allocatedBytes: number): void {
  const byFrame = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapProfileNode): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|work\/main)\//, '')}:${f.lineNumber + 1}`;
    byFrame.set(name, (byFrame.get(name) ?? 0) + n.selfSize);
    total += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(head);
  console.log(`\nsampled ${(total / 1e6).toFixed(0)} MB (meter: ${(allocatedBytes / 1e6).toFixed(0)} MB); top self allocators:`);
  for (const [name, bytes] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${(bytes / EVENTS).toFixed(0).padStart(6)} B/event  ${name}`);
  }
}

await main();
