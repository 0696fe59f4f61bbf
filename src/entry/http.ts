// Wires the HTTP server (src/http) to what this process runs: one pipeline (app.ts) or the worker
// threads (workers.ts). http.port 0 runs without it.
import type { RecordProducer, StreamClient } from '../clients/port.ts';
import type { SluiceConfig } from '../config/schema.ts';
import type { AggregateQuery, LocalAnswer } from '../model/aggregate-query.ts';
import { readSecret } from '../http/auth.ts';
import { IngestProducer } from '../http/ingest-producer.ts';
import type { MemberProgress } from '../http/probes.ts';
import { MAX_CONCURRENT_INGESTS, MAX_QUERY_RESULTS, startHttpServer } from '../http/server.ts';
import { OwnersFollower } from '../consumers/ownership.ts';
import { ownersTopic } from '../model/naming.ts';
import type { HttpServer } from '../http/server.ts';
import type { Logger } from '../log.ts';
import type { OwnerDirectory } from '../model/ownership.ts';

export interface HttpSources {
  metrics: () => Promise<{ contentType: string; body: string }>;
  failure: () => string | undefined;
  progress: () => Promise<MemberProgress[]>;
  /** an idempotent producer for POST /events, opened at the first request */
  openProducer: () => Promise<RecordProducer>;
  /** what the lanes open in this process hold of a window and group: one answer per pipeline instance that answered */
  ask: (q: AggregateQuery) => Promise<LocalAnswer[]>;
  /** which instance owns each partition, for routing queries; undefined: not known here */
  owners: OwnerDirectory | undefined;
}

export async function startHttp(config: SluiceConfig, log: Logger, sources: HttpSources): Promise<HttpServer | undefined> {
  const { http } = config;
  if (http.port === 0) return undefined;
  const authToken = http.authToken === undefined ? undefined : readSecret(http.authToken, 'http.authToken');
  const server = await startHttpServer({
    host: http.host,
    port: http.port,
    maxBodyBytes: http.maxBodyBytes,
    authToken,
    readyMaxLag: http.readyMaxLag,
    ingest: { topic: config.input.topic, keyField: config.input.key, maxRecordBytes: config.input.maxRecordBytes, format: config.input.format },
    // Events waiting for the brokers may hold as much as the admitted requests' bodies.
    producer: new IngestProducer(sources.openProducer, http.ingestTimeout, MAX_CONCURRENT_INGESTS * http.maxBodyBytes),
    metrics: sources.metrics,
    failure: sources.failure,
    progress: sources.progress,
    aggregates: {
      windows: config.windows.map((w) => ({ name: w.name, groupBy: w.groupBy })),
      ask: sources.ask,
      ownerOf: (at) => sources.owners?.ownerOf(at.topic, at.partition)?.url,
      self: sources.owners?.self ?? '',
      progress: sources.progress,
    },
  });
  log.info(`http on ${server.url}: /metrics, /healthz, /readyz, POST /events, GET /aggregates${authToken === undefined ? '' : ' (bearer token)'}`);
  return server;
}

/**
 * The owners directory of the thread that serves HTTP, not following yet; none without an HTTP
 * server or an advertised URL, where no query is routed.
 */
export function ownersDirectory(config: SluiceConfig, advertisedUrl: string | undefined, log: Logger): OwnersFollower | undefined {
  if (config.http.port === 0 || advertisedUrl === undefined) return undefined;
  return new OwnersFollower({ topic: ownersTopic(config.application.id), self: advertisedUrl, log });
}

/**
 * The HTTP server of a pipeline that serves it on its own thread (not a worker's): queries are
 * answered by `query` and routed by the owners topic, which it follows while the server is up.
 */
export async function startPipelineHttp(
  config: SluiceConfig,
  log: Logger,
  client: StreamClient,
  advertisedUrl: string | undefined,
  sources: Omit<HttpSources, 'openProducer' | 'ask' | 'owners'> & { query: (q: AggregateQuery, limit: number) => LocalAnswer },
): Promise<{ owners: OwnerDirectory | undefined; close(): Promise<void> }> {
  const directory = ownersDirectory(config, advertisedUrl, log);
  directory?.follow(async () => client);
  const server = await startHttp(config, log, {
    ...sources,
    openProducer: () => client.producer(),
    ask: async (q) => [sources.query(q, MAX_QUERY_RESULTS)],
    owners: directory,
  }).catch(async (err: unknown) => {
    await directory?.close();
    throw err;
  });
  return {
    owners: directory,
    close: async () => {
      await server?.close();
      await directory?.close();
    },
  };
}

