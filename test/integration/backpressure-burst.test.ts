// Backpressure through a burst (issue #12, section 4). A pipeline whose in-flight bound
// (backpressure.maxInFlightBytes) is 128 KiB sits idle with its lanes open. Then a burst of 100k
// events, about 100 times that bound, lands on its 4 partitions. Intake must pause (the paused
// gauge says every partition is paused), the in-flight bytes must stay within the bound plus its
// slack, the live heap must stay flat, intake must resume until the whole burst is processed, and
// the output must equal the oracle's.
//
// The slack: once the bound is passed every partition is paused, but what was already on its way
// is still counted: one fetch response (at most a batch of batching.maxBytes per partition, as
// src/consumers/in-flight.ts says), and the output of each lane's transaction, which is held
// until acknowledged. No setting bounds a transaction's output, so the test measures it: the most
// output records any transaction of the burst wrote (from the sluice:commit tracing channel),
// each counted as large as the largest output record the oracle expects.
//
// The scenario's closing records (one per partition, an hour on, closing every window still open)
// go in after the burst has drained, not inside it: each one's transaction writes every open
// window of its partition at once, which would make that output allowance several times larger.
//
// How it observes, so that nothing depends on timing:
// - the gauges: every value the consumer writes to sluice_in_flight_bytes and
//   sluice_paused_partitions is seen (their `set` is wrapped), not sampled, so no pause falls
//   between two samples; the end state is read back from the registry;
// - the heap: the live heap (heapUsed right after a full GC) before the burst and every half
//   second until it is processed. Without the GC, heapUsed is mostly garbage and says nothing.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import type { CommitEvent } from '../../src/observability/tracing.ts';
import type { GeneratedRecord } from '../helpers/event-stream.ts';
import { KAFKA_CLIENTS, produceToPartitions, testKafka } from '../helpers/kafka.ts';
import { createScenario, expectOracleOutput, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario } from '../helpers/scenario.ts';

const log = createLogger(process.env.SLUICE_TEST_LOG === 'debug' ? 'debug' : 'warn');

const KiB = 1024;
const MiB = 1024 * KiB;
const PARTITIONS = 4;
/** about 12.9 MB of keys and values: 100 times the bound */
const EVENTS = 100_000;
/** batching.maxBytes: the fetch size per partition, and the most input bytes per transaction */
const MAX_BYTES = 64 * KiB;
/** backpressure.maxInFlightBytes: two lanes' full batches reach it, one fetch response carries four; resumeBelowBytes is the default, half */
const LIMIT = 128 * KiB;
/**
 * At most a batch of MAX_BYTES per partition. That holds only while no record batch on the topic
 * is larger (a broker returns a partition's first batch whole, however large): SEND keeps the
 * producer's batches well under it, and the test checks that it does.
 */
const FETCH_RESPONSE = PARTITIONS * MAX_BYTES;
/** records per produce request, so each partition's record batch is about 200 records, 26 KB */
const SEND = 800;
/** what sluice adds to each output record's key and value when it counts the record in flight (approxBytes) */
const OUTPUT_RECORD_OVERHEAD = 70;
/**
 * How much the live heap may grow over its level before the burst. Measured here: 4 to 7 MiB on
 * both clients. A consumer that kept every fetched batch instead (tried once, by a change to
 * group-consumer.ts) grew it by 46 MiB on kafkajs and 35 MiB on @platformatic/kafka.
 */
const HEAP_GROWTH_BOUND = 24 * MiB;
const HEAP_SAMPLE_MS = 500;

/** A full GC on demand: the vitest worker runs without --expose-gc, and V8 can still expose it to a fresh context. */
const collectGarbage: () => void = (() => {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('cannot expose gc() to measure the live heap');
  return gc as () => void;
})();

function liveHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

interface GaugeWatch {
  max: number;
  last: number;
  /** how often the value went from 0 to above 0 */
  rises: number;
}

/** Sees every value the consumer sets on `gauge` (it only ever calls set(value)). */
function watchGauge(gauge: Gauge, onRise?: () => void): GaugeWatch {
  const watch: GaugeWatch = { max: 0, last: 0, rises: 0 };
  const set = gauge.set.bind(gauge) as (value: number) => void;
  (gauge as unknown as { set: (value: number) => void }).set = (value: number) => {
    if (value > 0 && watch.last === 0) {
      watch.rises++;
      onRise?.();
    }
    watch.last = value;
    watch.max = Math.max(watch.max, value);
    set(value);
  };
  return watch;
}

async function gaugeValue(gauge: Gauge): Promise<number> {
  return (await gauge.get()).values.reduce((n, v) => n + v.value, 0);
}

/** Polls until `done`, for at most `ms` (then the assertions after it say what is wrong). */
async function until(done: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** `records` as fast as the broker takes them, in requests of SEND records. */
async function produceFast(topic: string, records: readonly GeneratedRecord[]): Promise<void> {
  const producer = testKafka('sluice-test-burst').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += SEND) {
      const chunk = records.slice(i, i + SEND);
      await producer.send({ topic, acks: -1, messages: chunk.map((r) => ({ partition: r.partition, key: r.key, value: r.value })) });
    }
  } finally {
    await producer.disconnect();
  }
}

const recordBytes = (r: { key: string | null; value: string | null }): number => Buffer.byteLength(r.key ?? '') + Buffer.byteLength(r.value ?? '');

/** The largest key-plus-value bytes one produce request puts on one partition. */
function largestPartitionSend(records: readonly GeneratedRecord[]): number {
  let largest = 0;
  for (let i = 0; i < records.length; i += SEND) {
    const perPartition = new Array<number>(PARTITIONS).fill(0);
    for (const r of records.slice(i, i + SEND)) perPartition[r.partition]! += recordBytes(r);
    largest = Math.max(largest, ...perPartition);
  }
  return largest;
}

/** The largest output record the oracle expects, a final or a dead letter, as key plus value bytes. */
function largestOutputRecord(s: Scenario): number {
  let largest = 0;
  for (const [key, value] of s.oracle.finals) largest = Math.max(largest, Buffer.byteLength(key) + Buffer.byteLength(JSON.stringify(value)));
  for (const r of s.records) if (s.oracle.deadLetters.has(`${r.partition}:${r.offset}`)) largest = Math.max(largest, recordBytes(r));
  return largest;
}

describe.each(KAFKA_CLIENTS)('backpressure through a burst on %s', (client) => {
  it('pauses intake, keeps in-flight bytes and the heap bounded, resumes, and the output is exact', { timeout: 240_000 }, async () => {
    const s = await createScenario({ client, name: 'burst', partitions: PARTITIONS, events: EVENTS, seed: 1212 });
    appendFileSync(s.configFile, `batching: { maxBytes: ${MAX_BYTES} }\nbackpressure: { maxInFlightBytes: ${LIMIT} }\n`);
    const config = loadConfigFile(s.configFile);
    const burst = s.records.filter((r) => r.kind !== 'flush');
    const closing = s.records.filter((r) => r.kind === 'flush');
    expect(closing.length).toBe(PARTITIONS);
    const burstBytes = burst.reduce((n, r) => n + recordBytes(r), 0);
    expect(burstBytes, 'the burst is far above the bound').toBeGreaterThan(50 * LIMIT);
    // A record batch adds under 30 bytes per record to its keys and values; half leaves room.
    expect(largestPartitionSend(burst), 'no record batch exceeds the fetch size (see FETCH_RESPONSE)').toBeLessThan(MAX_BYTES / 2);
    const outputRecordBound = OUTPUT_RECORD_OVERHEAD + largestOutputRecord(s);

    let committed = 0;
    let inBurst = true;
    let mostOutputs = 0;
    const onCommit = (e: unknown) => {
      const commit = e as CommitEvent;
      committed += commit.records;
      if (inBurst) mostOutputs = Math.max(mostOutputs, commit.outputs);
    };
    subscribe('sluice:commit', onCommit);
    const pipeline = await startPipeline(config, log);
    let heapTimer: NodeJS.Timeout | undefined;
    try {
      // Idle, every lane open (and so counted by the limiter) before the burst arrives.
      const deadline = Date.now() + 90_000;
      while (pipeline.openLanes().length < PARTITIONS) {
        if (Date.now() > deadline) throw new Error(`lanes still not open after 90 s: ${pipeline.openLanes().join(', ') || 'none'}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const pausesBefore = await counterTotal(pipeline.metrics.pauses);
      const inFlight = watchGauge(pipeline.metrics.inFlightBytes);
      let committedAtFirstPause: number | undefined;
      const paused = watchGauge(pipeline.metrics.pausedPartitions, () => (committedAtFirstPause ??= committed));

      const heapBefore = liveHeap();
      let heapMax = heapBefore;
      heapTimer = setInterval(() => (heapMax = Math.max(heapMax, liveHeap())), HEAP_SAMPLE_MS);
      const started = Date.now();
      await produceFast(s.input, burst);
      await waitUntilProcessed(s);
      // Lanes release a batch's bytes just after its commit, which the broker may show first.
      await until(async () => committed === burst.length && (await gaugeValue(pipeline.metrics.inFlightBytes)) === 0, 10_000);
      inBurst = false;
      const seconds = (Date.now() - started) / 1000;
      const burstInFlightMax = inFlight.max;
      const burstCommitted = committed;
      const pauses = (await counterTotal(pipeline.metrics.pauses)) - pausesBefore;
      const slack = FETCH_RESPONSE + PARTITIONS * mostOutputs * outputRecordBound;

      await produceToPartitions(s.input, closing);
      await waitUntilProcessed(s);
      await until(async () => committed === s.records.length && (await gaugeValue(pipeline.metrics.inFlightBytes)) === 0, 10_000);
      clearInterval(heapTimer);
      heapMax = Math.max(heapMax, liveHeap());
      console.log(
        `[backpressure-burst] ${client}: ${burst.length} events (${(burstBytes / MiB).toFixed(1)} MiB) against a ${LIMIT / KiB} KiB bound, processed in ${seconds.toFixed(1)}s; ` +
          `${paused.rises} pauses (${pauses} partition pauses), the first after ${committedAtFirstPause ?? '-'} records; ` +
          `in-flight max ${(burstInFlightMax / KiB).toFixed(0)} KiB (bound + slack ${((LIMIT + slack) / KiB).toFixed(0)} KiB, of which ${((PARTITIONS * mostOutputs * outputRecordBound) / KiB).toFixed(0)} KiB for up to ${mostOutputs} outputs per transaction); ` +
          `live heap ${(heapBefore / MiB).toFixed(1)} MiB before, at most ${(heapMax / MiB).toFixed(1)} MiB`,
      );

      // Intake paused: the burst took in-flight bytes over the bound, and every partition stopped.
      expect(burstInFlightMax, 'in-flight bytes went over the bound').toBeGreaterThan(LIMIT);
      expect(paused.max, 'the paused gauge: every partition paused at once').toBe(PARTITIONS);
      expect(pauses, 'sluice_backpressure_pauses_total').toBeGreaterThanOrEqual(PARTITIONS);
      expect(committedAtFirstPause ?? Number.POSITIVE_INFINITY, 'the first pause came with most of the burst still on the broker').toBeLessThan(burst.length / 2);
      // ... and the bytes stayed bounded: over the bound by at most the slack.
      expect(burstInFlightMax, 'in-flight bytes within maxInFlightBytes plus one fetch response plus one transaction output per lane').toBeLessThanOrEqual(LIMIT + slack);
      // Intake resumed after every pause, until everything was processed, and holds nothing now.
      expect(burstCommitted, 'burst records committed').toBe(burst.length);
      expect(committed, 'records committed').toBe(s.records.length);
      expect(await counterTotal(pipeline.metrics.recordsIn)).toBe(s.records.length);
      expect(await gaugeValue(pipeline.metrics.pausedPartitions), 'paused partitions at the end').toBe(0);
      expect(await gaugeValue(pipeline.metrics.inFlightBytes), 'in-flight bytes at the end').toBe(0);
      // The burst waited on the broker, not on the heap.
      expect(heapMax - heapBefore, `live heap growth (before the burst: ${(heapBefore / MiB).toFixed(1)} MiB)`).toBeLessThan(HEAP_GROWTH_BOUND);
      // Nothing lost, nothing counted twice.
      await expectOracleOutput(s);
    } finally {
      clearInterval(heapTimer);
      unsubscribe('sluice:commit', onCommit);
      await pipeline.stop();
    }
  });
});
