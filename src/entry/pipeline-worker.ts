// One worker thread: one pipeline instance, i.e. one member of the consumer group with its own
// lanes and LMDB environments. The main thread (workers.ts) starts, stops and scrapes it.
import { parentPort, workerData } from 'node:worker_threads';
import { startPipeline } from './app.ts';
import type { RunningPipeline } from './app.ts';
import { deepFreeze } from '../config/load.ts';
import type { SluiceConfig } from '../config/schema.ts';
import { isSluiceError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { LogLevel } from '../log.ts';
import { installWarningFilter } from '../observability/warnings.ts';
import type { MemberProgress } from '../http/probes.ts';
import type { AggregateQuery, LocalAnswer } from '../model/aggregate-query.ts';

export type ToWorker = { type: 'stop' } | { type: 'metrics'; id: number } | { type: 'progress'; id: number } | { type: 'query'; id: number; query: AggregateQuery; limit: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; code: string | undefined; message: string; exitCode: number; stack: string | undefined }
  | { type: 'metrics'; id: number; metrics: unknown }
  | { type: 'progress'; id: number; progress: MemberProgress }
  /** undefined before the pipeline runs; `error` when reading the lanes failed */
  | { type: 'query'; id: number; answer: LocalAnswer | undefined; error?: string }
  /** after ready: the pipeline cannot go on (logged here already); the process must stop */
  | { type: 'fatal'; code: string; exitCode: number }
  | { type: 'stopped' };

/** What workers.ts hands each worker: the config as the main thread validated it (a structured clone, so plain data). */
export interface WorkerInput {
  config: SluiceConfig;
  index: number;
  level: LogLevel | undefined;
}

const { config, index, level } = workerData as WorkerInput;
const port = parentPort;
if (port === null) throw new Error('pipeline-worker.ts runs only as a worker thread');
installWarningFilter();
const send = (msg: FromWorker) => port.postMessage(msg);

let pipeline: RunningPipeline | undefined;
let started: Promise<void> = Promise.resolve();

// Listening from the start: the main thread's HTTP server asks for progress and metrics while the
// pipeline starts (/readyz says not ready then), and a stop waits for the start to settle.
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'metrics') {
    const running = pipeline;
    if (running === undefined) send({ type: 'metrics', id: msg.id, metrics: [] });
    else void running.metrics.registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics', id: msg.id, metrics }));
  } else if (msg.type === 'progress') {
    send({ type: 'progress', id: msg.id, progress: pipeline?.progress() ?? { joined: false, partitions: [] } });
  } else if (msg.type === 'query') {
    // Thrown here, in a message handler, it would end the thread and with it the process.
    try {
      send({ type: 'query', id: msg.id, answer: pipeline?.query(msg.query, msg.limit) });
    } catch (err) {
      send({ type: 'query', id: msg.id, answer: undefined, error: (err as Error).message });
    }
  } else if (msg.type === 'stop') {
    void started
      .then(() => pipeline?.stop())
      .finally(() => {
        send({ type: 'stopped' });
        port.close();
      });
  }
});

started = (async () => {
  try {
    deepFreeze(config);
    const log = createLogger(level ?? config.log.level, `sluice[w${index}]`);
    // The main thread serves HTTP for all workers; a worker must not bind the port itself.
    pipeline = await startPipeline({ ...config, http: { ...config.http, port: 0 } }, log);
    send({ type: 'ready' });
    void pipeline.failed.then((error) => send({ type: 'fatal', code: error.code, exitCode: error.exitCode }));
  } catch (err) {
    const e = err as Error;
    send({ type: 'failed', code: isSluiceError(err) ? err.code : undefined, message: e.message, exitCode: isSluiceError(err) ? err.exitCode : 70, stack: isSluiceError(err) ? undefined : e.stack });
  }
})();
