// Wires the HTTP server (src/http) to what this process runs: one pipeline (app.ts) or the worker
// threads (workers.ts). http.port 0 runs without it.
import type { RecordProducer } from '../clients/port.ts';
import type { SluiceConfig } from '../config/schema.ts';
import type { AggregateQuery, LocalAnswer } from '../model/aggregate-query.ts';
import { readSecret } from '../http/auth.ts';
import { IngestProducer } from '../http/ingest-producer.ts';
import type { MemberProgress } from '../http/probes.ts';
import { MAX_CONCURRENT_INGESTS, startHttpServer } from '../http/server.ts';
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
