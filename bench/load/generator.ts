// The load generator, run as a child process by bench/run.ts (commands and reports over IPC, see
// protocol.ts). Producers keep one request in flight, so each partition's offsets follow the
// order records were handed over; the JSONL log of the sluice input topic is written in that same
// order (a `[partition]` line where a transaction marker takes an offset), and is all the oracle
// needs to replay the run.
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { Kafka as KafkaClient, logLevel } from '../../src/clients/kafkajs/loader.ts';
import { installWarningFilter } from '../../src/observability/warnings.ts';
import { LoadModel } from './model.ts';
import type { LoadRecord } from './model.ts';
import type { LoadCommand, LoadInit, LoadReport, PhaseResult, ProfilePhase } from './protocol.ts';

/** the schedule is checked this often; whatever is due goes out as one batch */
const TICK_MS = 10;
/** caps one request (records to all partitions), well under the broker's 1 MB per partition batch */
const MAX_BATCH = 4000;

interface Generator {
  init: LoadInit;
  kafka: Kafka;
  producer: Producer;
  model: LoadModel;
  jsonl: WriteStream;
  /** records logged per partition of the sluice input */
  perPartition: number[];
  /** the next offset of each partition of the sluice input, transaction markers included */
  nextOffset: number[];
  /** each partition's last data record offset + 1: what a consumer that read it all commits */
  targets: number[];
  /** backlog transactions not yet committed, by topic */
  open: Map<string, { producer: Producer; txn: Transaction; partitions: Set<number> }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function report(msg: LoadReport): void {
  process.send?.(msg);
}

async function start(init: LoadInit): Promise<Generator> {
  const kafka = new KafkaClient({ clientId: 'sluice-bench-load', brokers: init.brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const model = new LoadModel(init);
  const zeros = () => new Array<number>(init.partitions).fill(0);
  return { init, kafka, producer, model, jsonl: createWriteStream(init.jsonl), perPartition: zeros(), nextOffset: zeros(), targets: zeros(), open: new Map() };
}

/** Logs records bound for the sluice input, in the order they are handed to the producer. */
function logRecords(g: Generator, records: readonly LoadRecord[]): void {
  let lines = '';
  for (const r of records) {
    lines += JSON.stringify([r.partition, r.key, r.value]) + '\n';
    g.perPartition[r.partition]!++;
    g.targets[r.partition] = ++g.nextOffset[r.partition]!;
  }
  g.jsonl.write(lines);
}

const toMessages = (records: readonly LoadRecord[]) => records.map((r) => ({ partition: r.partition, key: r.key, value: r.value }));

async function send(g: Generator, records: LoadRecord[]): Promise<void> {
  logRecords(g, records);
  await g.producer.send({ topic: g.init.topic, acks: -1, messages: toMessages(records) });
}

async function backlog(g: Generator, count: number, topics: string[]): Promise<void> {
  const started = Date.now();
  for (const topic of topics) {
    // Long enough to wait while the ceiling runs and sluice starts; within the broker's 15 min cap.
    const producer = g.kafka.producer({ transactionalId: `sluice-bench-load-${topic}`, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 600_000, allowAutoTopicCreation: false });
    await producer.connect();
    g.open.set(topic, { producer, txn: await producer.transaction(), partitions: new Set() });
  }
  const perPartition = new Array<number>(g.init.partitions).fill(0);
  for (let sent = 0; sent < count; ) {
    const n = Math.min(MAX_BATCH, count - sent);
    const now = Date.now();
    const records = Array.from({ length: n }, () => g.model.next(now));
    for (const r of records) perPartition[r.partition]!++;
    if (topics.includes(g.init.topic)) logRecords(g, records);
    const messages = toMessages(records);
    await Promise.all(
      topics.map((topic) => {
        const open = g.open.get(topic)!;
        for (const r of records) open.partitions.add(r.partition);
        return open.txn.send({ topic, acks: -1, messages });
      }),
    );
    sent += n;
  }
  report({ type: 'backlog-done', produced: count, ms: Date.now() - started, perPartition });
}

async function release(g: Generator, topic: string): Promise<void> {
  const open = g.open.get(topic);
  if (!open) throw new Error(`no open backlog on ${topic}`);
  await open.txn.commit();
  g.open.delete(topic);
  await open.producer.disconnect();
  if (topic === g.init.topic) {
    // The commit marker takes an offset in every partition the transaction wrote to.
    let lines = '';
    for (const p of [...open.partitions].sort((a, b) => a - b)) {
      g.nextOffset[p]!++;
      lines += `[${p}]\n`;
    }
    g.jsonl.write(lines);
  }
  report({ type: 'released', topic, targets: [...g.targets] });
}

async function phase(g: Generator, p: ProfilePhase): Promise<PhaseResult> {
  const startMs = Date.now();
  const endMs = startMs + p.seconds * 1000;
  report({ type: 'phase', name: p.name, startMs });
  const perSecond = new Array<number>(p.seconds).fill(0);
  let reported = 0;
  let sent = 0;
  let maxBehind = 0;
  const flushTicks = (upTo: number) => {
    for (; reported < Math.min(upTo, p.seconds); reported++) {
      report({ type: 'tick', phase: p.name, second: reported, endMs: startMs + (reported + 1) * 1000, produced: perSecond[reported]! });
    }
  };
  for (;;) {
    const now = Date.now();
    if (now >= endMs) break;
    const due = Math.floor((p.rate * (now - startMs)) / 1000) - sent;
    maxBehind = Math.max(maxBehind, due);
    if (due > 0) {
      const n = Math.min(due, MAX_BATCH);
      const records = Array.from({ length: n }, () => g.model.next(now));
      await send(g, records);
      sent += n;
      const acked = Date.now();
      const second = Math.min(p.seconds - 1, Math.floor((acked - startMs) / 1000));
      perSecond[second]! += n;
      flushTicks(Math.floor((acked - startMs) / 1000));
    }
    const next = TICK_MS - ((Date.now() - startMs) % TICK_MS);
    await sleep(next);
  }
  flushTicks(p.seconds);
  const actualMs = Date.now() - startMs;
  return { name: p.name, targetRate: p.rate, startMs, endMs: startMs + actualMs, produced: sent, actualRate: (sent * 1000) / actualMs, maxBehind };
}

async function profile(g: Generator, phases: ProfilePhase[]): Promise<void> {
  const results: PhaseResult[] = [];
  for (const p of phases) results.push(await phase(g, p));
  report({ type: 'profile-done', endMs: Date.now(), phases: results, targets: [...g.targets] });
}

async function close(g: Generator): Promise<void> {
  await new Promise<void>((resolve, reject) => g.jsonl.end((err?: Error | null) => (err ? reject(err) : resolve())));
  for (const open of g.open.values()) {
    await open.txn.abort().catch(() => undefined);
    await open.producer.disconnect();
  }
  await g.producer.disconnect();
  report({ type: 'closed', perPartition: g.perPartition, ends: g.nextOffset, generated: g.model.generated, duplicates: g.model.duplicates });
}

function main(): void {
  installWarningFilter();
  let gen: Generator | undefined;
  let chain: Promise<void> = Promise.resolve();
  const need = (): Generator => {
    if (!gen) throw new Error('load generator: init first');
    return gen;
  };
  const handle = async (cmd: LoadCommand): Promise<void> => {
    switch (cmd.cmd) {
      case 'init':
        gen = await start(cmd);
        report({ type: 'ready' });
        return;
      case 'backlog':
        return backlog(need(), cmd.count, cmd.topics);
      case 'release':
        return release(need(), cmd.topic);
      case 'profile':
        return profile(need(), cmd.phases);
      case 'flush': {
        const records = need().model.flush();
        await send(need(), records);
        report({ type: 'flush-done', produced: records.length, targets: [...need().targets] });
        return;
      }
      case 'close':
        await close(need());
        process.disconnect?.();
        return;
    }
  };
  process.on('message', (msg) => {
    chain = chain
      .then(() => handle(msg as LoadCommand))
      .catch((err: unknown) => {
        report({ type: 'error', message: (err as Error).stack ?? String(err) });
        process.exitCode = 1;
        setTimeout(() => process.exit(1), 200);
      });
  });
  // The parent going away (crash, Ctrl-C) must not leave a producer running.
  process.on('disconnect', () => setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref());
}

main();
