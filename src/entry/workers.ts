// Runs a pipeline on N worker threads in one process: each is a consumer-group member with its
// own lanes, so partitions spread over the cores and share nothing. The main thread only starts
// and stops them and serves their metrics, summed. Threads (not processes) so that a SIGKILL of
// the process takes every worker with it, as a crash would.
import { Worker } from 'node:worker_threads';
import { AggregatorRegistry, Registry } from 'prom-client';
import { resolveAdvertisedUrl } from '../config/advertised-url.ts';
import type { SluiceConfig } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';
import type { Logger, LogLevel } from '../log.ts';
import type { StreamClient } from '../clients/port.ts';
import type { MemberProgress } from '../http/probes.ts';
import { openClient } from './app.ts';
import { ownersDirectory, startHttp } from './http.ts';
import { MAX_QUERY_RESULTS } from '../http/server.ts';
import type { FromWorker, ToWorker, WorkerInput } from './pipeline-worker.ts';

// Compiled builds run .js; a checkout runs the .ts sources (tsc does not rewrite URL strings).
const WORKER_ENTRY = new URL(`./pipeline-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/** How long /readyz and /metrics wait for a worker's part of the answer. */
const WORKER_ANSWER_TIMEOUT_MS = 5000;

export interface WorkerPool {
  stop(): Promise<void>;
  /** resolves with an exit code if a worker dies on its own */
  crashed: Promise<number>;
}

interface Member {
  worker: Worker;
  index: number;
  /** requests of askAll waiting for this worker's answer, by id: one listener for them all */
  waiting: Map<number, (answer: FromWorker | undefined) => void>;
}

export async function startWorkers(config: SluiceConfig, count: number, log: Logger, level: LogLevel | undefined): Promise<WorkerPool> {
  const members: Member[] = [];
  let stopping = false;
  let resolveCrash!: (code: number) => void;
  const crashed = new Promise<number>((r) => (resolveCrash = r));
  // Resolved here, where HTTP is served: every worker announces this URL for its lanes, and its
  // own http.port is 0, from which it could not derive it.
  const advertisedUrl = resolveAdvertisedUrl(config.http);
  const workerConfig: SluiceConfig = advertisedUrl === undefined ? config : { ...config, http: { ...config.http, advertisedUrl } };
  // Lanes run in the workers; the directory of who owns them is followed here, for queries.
  const directory = ownersDirectory(config, advertisedUrl, log);

  const ready = Array.from({ length: count }, (_, index) => {
    const worker = new Worker(WORKER_ENTRY, { workerData: { config: workerConfig, index, level } satisfies WorkerInput });
    const waiting: Member['waiting'] = new Map();
    members.push({ worker, index, waiting });
    worker.on('message', (msg: FromWorker) => {
      if ('id' in msg) waiting.get(msg.id)?.(msg);
    });
    worker.on('exit', (code) => {
      for (const answer of [...waiting.values()]) answer(undefined);
      if (!stopping) {
        log.error(`worker ${index} exited unexpectedly (code ${code}); stopping the process so the group moves its partitions`);
        resolveCrash(70);
      }
    });
    // A worker whose pipeline cannot go on (it logged why) stops the whole process, with its code.
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'fatal' && !stopping) resolveCrash(msg.exitCode);
    });
    return new Promise<void>((resolve, reject) => {
      worker.on('message', function onFirst(msg: FromWorker) {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'failed') {
          const err = sluiceError('SLUICE_INTERNAL', msg.message);
          Object.assign(err, { code: msg.code ?? 'SLUICE_INTERNAL', exitCode: msg.exitCode, stack: msg.stack ?? err.stack });
          reject(err);
        } else return;
        worker.off('message', onFirst);
      });
      worker.on('error', reject);
    });
  });

  const stop = async (): Promise<void> => {
    stopping = true;
    await Promise.all(
      members.map(
        ({ worker }) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.postMessage({ type: 'stop' } satisfies ToWorker);
          }),
      ),
    );
  };

  let crashedWith: number | undefined;
  void crashed.then((code) => (crashedWith = code));
  let nextId = 0;
  /** every worker's answer to a request of this type; undefined from a worker that exited */
  const askAll = <T extends FromWorker>(type: 'metrics' | 'progress' | 'query', args: Partial<Extract<ToWorker, { type: 'query' }>> = {}): Promise<(T | undefined)[]> =>
    Promise.all(
      members.map(
        ({ worker, waiting }) =>
          new Promise<T | undefined>((resolve) => {
            if (worker.threadId === -1) return resolve(undefined);
            const id = nextId++;
            // A worker whose event loop is blocked answers nothing: its part is missing (not
            // ready, no metrics) rather than the probe or scrape hanging on it.
            const timer = setTimeout(() => done(undefined), WORKER_ANSWER_TIMEOUT_MS);
            const done = (answer: FromWorker | undefined) => {
              clearTimeout(timer);
              waiting.delete(id);
              resolve(answer?.type === type ? (answer as T) : undefined);
            };
            waiting.set(id, done);
            worker.postMessage({ ...args, type, id } as ToWorker);
          }),
      ),
    );
  type Scraped = Parameters<typeof AggregatorRegistry.aggregate>[0][number];
  // The workers produce to Kafka with clients of their own; POST /events and the directory get one in this thread.
  let client: Promise<StreamClient> | undefined;
  const openMainClient = () => {
    const opened = (client ??= openClient(config, log));
    opened.catch(() => (client = undefined));
    return opened;
  };
  // Up while the workers start, so that probes see the startup: alive, not ready.
  const server = await startHttp(config, log, {
    metrics: async () => {
      const parts = await askAll<Extract<FromWorker, { type: 'metrics' }>>('metrics');
      return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await AggregatorRegistry.aggregate(parts.map((p) => (p?.metrics ?? []) as Scraped)).metrics() };
    },
    failure: () => (crashedWith === undefined ? undefined : `a worker stopped (exit code ${crashedWith})`),
    progress: async (): Promise<MemberProgress[]> => (await askAll<Extract<FromWorker, { type: 'progress' }>>('progress')).map((p) => p?.progress ?? { joined: false, partitions: [] }),
    ask: async (query) =>
      (await askAll<Extract<FromWorker, { type: 'query' }>>('query', { query, limit: MAX_QUERY_RESULTS })).flatMap((a) => {
        // A query that failed in a worker fails the request (500), never the worker.
        if (a?.error !== undefined) throw new Error(a.error);
        return a?.answer === undefined ? [] : [a.answer];
      }),
    openProducer: async () => (await openMainClient()).producer(),
    owners: directory,
  }).catch(async (err: unknown) => {
    // Each start settles (a failed one is not this error), then every worker stops.
    await Promise.allSettled(ready);
    await stop();
    throw err;
  });
  try {
    await Promise.all(ready);
  } catch (err) {
    await stop();
    await server?.close();
    throw err;
  }
  // Only now: the workers created the owners topic, and following a missing topic could have a
  // broker that auto-creates topics create it uncompacted.
  directory?.follow(openMainClient);

  log.info(`${count} workers running`);

  return {
    crashed,
    stop: async () => {
      await stop();
      await server?.close();
      await directory?.close();
      await client?.then((c) => c.close()).catch(() => undefined);
    },
  };
}
