// The hot path without a broker: the bench pipeline's events go through a lane's data path
// exactly as in production (decode → dedupe → aggregate → outputs → changelog records → LMDB
// commit) plus kafkajs's produce-request encoding of the records a transaction would send, so
// allocation per event and CPU per event can be compared between commits without network noise.
// With --profile it also writes a sampling heap profile that keeps collected objects, which is
// what says *where* the bytes are allocated (open it in Chrome DevTools, or read the summary).
//
//   node bench/in-process/hot-path.ts [--events 200000] [--partitions 8] [--emit update|final] [--profile]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { pipelineSpec } from '../../src/entry/app.ts';
import '../../src/clients/kafkajs/loader.ts';
import { Checkpoint } from '../../src/consumers/checkpoint.ts';
import { chunkEnd } from '../../src/consumers/chunks.ts';
import { storeTimes } from '../../src/consumers/lane.ts';
import { BatchProcessor } from '../../src/processors/batch-processor.ts';
import { AllocationMeter } from '../../src/observability/alloc-meter.ts';
import type { LaneSink } from '../../src/clients/port.ts';
import type { InputRecord, OutRecord } from '../../src/model/records.ts';
import { chunkByBytes } from '../../src/sinks/records.ts';
import { PartitionStore } from '../../src/state/partition-store.ts';
import { StoreTransaction } from '../../src/state/store-transaction.ts';
import { LoadModel } from '../load/model.ts';
import { writeRunPipeline } from '../setup/pipeline-config.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    partitions: { type: 'string', default: '8' },
    emit: { type: 'string', default: 'update' },
    profile: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(values.events);
const PARTITIONS = Number(values.partitions);

// kafkajs's own produce request (v3, as its producer sends to Kafka 4) encodes what a sink sends.
const require = createRequire(import.meta.url);
const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: unknown) => { encode(): Promise<{ buffer: Buffer }> };

/** Encodes what TransactionalLaneSink would send, without a socket: the client's CPU and bytes. */
class EncodingSink implements LaneSink {
  bytes = 0;
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async commit(records: readonly OutRecord[]): Promise<string | undefined> {
    for (const chunk of chunkByBytes(records, 900 * 1024)) {
      const byTopic = new Map<string, Map<number, { key: unknown; value: unknown; headers?: unknown }[]>>();
      for (const r of chunk) {
        let parts = byTopic.get(r.topic);
        if (!parts) byTopic.set(r.topic, (parts = new Map()));
        const p = r.partition ?? 0;
        let list = parts.get(p);
        if (!list) parts.set(p, (list = []));
        list.push({ key: r.key, value: r.value, headers: r.headers });
      }
      const topicData = [...byTopic].map(([topic, parts]) => ({ topic, partitions: [...parts].map(([partition, messages]) => ({ partition, firstSequence: 0, messages })) }));
      const req = produceRequest({ acks: -1, timeout: 30000, transactionalId: 'hot-path', producerEpoch: 0, topicData });
      this.bytes += (await req.encode()).buffer.length;
    }
    return undefined;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-hot-path-'));
const { config } = writeRunPipeline(new URL('../setup/pipeline.yaml', import.meta.url).pathname, dir, {
  brokers: '127.0.0.1:9092',
  runId: 'hot',
  client: 'kafkajs',
  stateDir: dir,
  metricsPort: 0,
  emit: values.emit === 'final' ? 'final' : 'update',
});
const spec = pipelineSpec(config);
const times = storeTimes(spec);

// Pre-generate the input so that generating it is not measured.
const model = new LoadModel({ partitions: PARTITIONS, players: 10_000, zipf: 1, duplicateRatio: 0.2, jitterMs: 2000, seed: 1 });
const perPartition: InputRecord[][] = Array.from({ length: PARTITIONS }, () => []);
const t0 = Date.now() - 60_000;
for (let i = 0; i < EVENTS; i++) {
  // 10k events/s of event time, so windows open and close as in a real run.
  const now = t0 + Math.floor(i / 10);
  const r = model.next(now);
  const list = perPartition[r.partition]!;
  list.push({ offset: String(list.length), key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: String(now) });
}

const sink = new EncodingSink();
const lanes = perPartition.map((records, p) => {
  const store = new PartitionStore(join(dir, `p${p}.mdb`), times);
  const processor = new BatchProcessor(spec, { input: 'in', output: 'out', deadLetter: 'dlq' }, p);
  return { records, store, processor, checkpoint: new Checkpoint(sink, { input: 'in', changelog: 'changelog' }, p, 'bench'), streamTime: Number.NEGATIVE_INFINITY, next: 0 };
});

const session = new Session();
if (values.profile) {
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
const meter = new AllocationMeter();
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
const before = meter.allocatedBytes();
let outputs = 0;
let transactions = 0;
// Round-robin over lanes, one chunk at a time, as the group consumer interleaves partitions.
for (let active = true; active; ) {
  active = false;
  for (const lane of lanes) {
    if (lane.next >= lane.records.length) continue;
    active = true;
    const end = chunkEnd(lane.records, lane.next, config.batching.maxRecords, config.batching.maxBytes);
    const tx = new StoreTransaction(lane.store, times);
    const result = lane.processor.process(lane.records.slice(lane.next, end), tx, lane.streamTime);
    outputs += result.records.length;
    const nextOffset = String(lane.next + result.consumed);
    await lane.checkpoint.commit({ tx, outputs: result.records, nextOffset, streamTime: result.streamTime, changelogNext: undefined });
    lane.streamTime = result.streamTime;
    lane.next += result.consumed;
    transactions++;
  }
}
const allocated = meter.allocatedBytes() - before;
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - wall0;
meter.stop();

const summary = {
  events: EVENTS,
  transactions,
  outputsAndChangelogRecords: outputs,
  encodedBytesPerEvent: Math.round(sink.bytes / EVENTS),
  allocBytesPerEvent: Math.round(allocated / EVENTS),
  cpuMicrosPerEvent: Number(((cpu.user + cpu.system) / EVENTS).toFixed(1)),
  eventsPerSecond: Math.round(EVENTS / (wallMs / 1000)),
};
console.log(JSON.stringify(summary, null, 2));

if (values.profile) {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapProfileNode } };
  const file = join(tmpdir(), `sluice-hot-path-${Date.now()}.heapprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`heap profile: ${file}`);
  printTopAllocators(profile.head, allocated);
}
for (const lane of lanes) await lane.store.close();
rmSync(dir, { recursive: true, force: true });

interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapProfileNode[];
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
