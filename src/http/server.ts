// sluice's one HTTP port (http.port): /metrics for Prometheus, /healthz and /readyz for probes,
// POST /events for producers that cannot speak Kafka, and GET /aggregates for interactive queries. Built on fastify: bench/http measured it
// against bare node:http on POST /events with 100-event bodies, within noise of each other on
// the development machine (bench/README.md, "HTTP server"). The entry layer wires it to a pipeline (app.ts) or to the worker threads
// (workers.ts), which is why everything it reports comes in as a function.
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sluiceError } from '../errors.ts';
import { BadQuery, parseAggregateQuery, routeAggregates } from './aggregates.ts';
import type { AggregatesSource } from './aggregates.ts';
import { bearerMatches } from './auth.ts';
import { toRecords, UnparseableBody } from './ingest.ts';
import type { IngestTarget } from './ingest.ts';
import { IngestUnavailable } from './ingest-producer.ts';
import type { IngestProducer } from './ingest-producer.ts';
import { readiness } from './probes.ts';
import type { MemberProgress } from './probes.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** POST /events and GET /aggregates require `Authorization: Bearer <token>` when set */
  authToken: string | undefined;
  readyMaxLag: number;
  ingest: IngestTarget;
  producer: IngestProducer;
  /** the Prometheus exposition text */
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** why the pipeline cannot go on, once it cannot; undefined while it runs */
  failure: () => string | undefined;
  /** every group member of this process */
  progress: () => Promise<MemberProgress[]>;
  /** what GET /aggregates reads and routes by */
  aggregates: AggregatesSource;
}

export interface HttpServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

/**
 * POST /events requests handled at once, each holding up to maxBodyBytes: past it a request is
 * answered 503 before its body is read, so a burst of producers slows down instead of growing the
 * heap. With the default 1 MiB limit, bodies hold at most 32 MiB.
 */
export const MAX_CONCURRENT_INGESTS = 32;

/** Most window results one GET /aggregates answer lists (`truncated` says when there were more). */
export const MAX_QUERY_RESULTS = 10_000;

/**
 * GET /aggregates requests answered at once: each reads LMDB on the threads that run the lanes,
 * between their batches, so a burst of queries must not hold up processing and heartbeats.
 */
export const MAX_CONCURRENT_QUERIES = 16;

/** Admits at most `max` requests of a route at a time (onRequest, after the token); more are answered 503. */
function concurrencyGate(max: number) {
  let inFlight = 0;
  const admitted = new WeakSet<FastifyRequest>();
  const release = async (req: FastifyRequest) => {
    if (admitted.delete(req)) inFlight--;
  };
  const admit = async (req: FastifyRequest, reply: FastifyReply) => {
    if (reply.sent) return;
    if (inFlight >= max) {
      await reply.code(503).header('retry-after', '1').send({ error: `${max} requests already in flight` });
      return;
    }
    inFlight++;
    admitted.add(req);
  };
  return { admit, release };
}

function checkToken(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (token === undefined || bearerMatches(req.headers.authorization, token)) return;
    await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
  };
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const app = Fastify({ bodyLimit: opts.maxBodyBytes, logger: false });
  // Bodies arrive as bytes whatever their Content-Type: ingest.ts tells JSON from NDJSON itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await opts.metrics();
    return reply.type(contentType).send(body);
  });
  app.get('/healthz', async (_req, reply) => {
    const failure = opts.failure();
    return reply.code(failure === undefined ? 200 : 503).send(failure === undefined ? { healthy: true } : { healthy: false, reason: failure });
  });
  app.get('/readyz', async (_req, reply) => {
    const report = readiness(await opts.progress(), opts.readyMaxLag);
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  const queries = concurrencyGate(MAX_CONCURRENT_QUERIES);
  app.get('/aggregates', { onRequest: [checkToken(opts.authToken), queries.admit], onResponse: queries.release, onRequestAbort: queries.release }, async (req, reply) => {
    let parsed;
    try {
      parsed = parseAggregateQuery(req.query as Record<string, unknown>, opts.aggregates.windows);
    } catch (err) {
      if (err instanceof BadQuery) return reply.code(400).send({ error: err.message });
      throw err;
    }
    const outcome = await routeAggregates(opts.aggregates, parsed, req.url.slice(req.url.indexOf('?') + 1), MAX_QUERY_RESULTS);
    if (outcome.status === 307) return reply.code(307).header('location', outcome.location).send();
    if (outcome.status === 503) return reply.code(503).header('retry-after', '1').send(outcome.body);
    return reply.send(outcome.body);
  });
  const gate = concurrencyGate(MAX_CONCURRENT_INGESTS);
  app.post('/events', { onRequest: [checkToken(opts.authToken), gate.admit], onResponse: gate.release, onRequestAbort: gate.release }, async (req, reply) => {
    if (opts.ingest.format !== 'json') {
      return reply.code(415).send({ error: `POST /events writes events as JSON, and this pipeline reads input.format ${opts.ingest.format}: produce to ${opts.ingest.topic} with a serializer of that format` });
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let batch;
    try {
      batch = toRecords(body, req.headers['content-type'], opts.ingest);
    } catch (err) {
      if (err instanceof UnparseableBody) return reply.code(400).send({ error: err.message });
      throw err;
    }
    try {
      await opts.producer.send(batch.records);
    } catch (err) {
      if (err instanceof IngestUnavailable) return reply.code(503).header('retry-after', '1').send({ error: err.message });
      throw err;
    }
    return reply.code(202).send({ accepted: batch.records.length, rejected: batch.rejected });
  });

  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    throw sluiceError('SLUICE_HTTP_UNAVAILABLE', `cannot listen on ${opts.host}:${opts.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`,
    close: async () => {
      await app.close();
      await opts.producer.close();
    },
  };
}
