// The bench's other candidate: POST /events on bare node:http, with the same parsing, auth check
// and producer as src/http/server.ts, so that the two differ only in the framework around them.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { bearerMatches } from '../../src/http/auth.ts';
import { toRecords, UnparseableBody } from '../../src/http/ingest.ts';
import { IngestUnavailable } from '../../src/http/ingest-producer.ts';
import type { HttpServerOptions } from '../../src/http/server.ts';

type Options = Pick<HttpServerOptions, 'host' | 'port' | 'maxBodyBytes' | 'authToken' | 'ingest' | 'producer'>;

const json = (status: number, body: unknown) => ({ status, text: JSON.stringify(body) });

export function startNodeServer(opts: Options): Promise<Server> {
  const server = createServer((req, res) => {
    const answer = ({ status, text }: { status: number; text: string }) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(text);
    if (req.method !== 'POST' || req.url !== '/events') return answer(json(404, { error: 'not found' }));
    if (opts.authToken !== undefined && !bearerMatches(req.headers.authorization, opts.authToken)) return answer(json(401, { error: 'missing or wrong bearer token' }));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.maxBodyBytes) {
        answer(json(413, { error: 'body too large' }));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > opts.maxBodyBytes) return;
      let batch;
      try {
        batch = toRecords(Buffer.concat(chunks), req.headers['content-type'], opts.ingest);
      } catch (err) {
        if (err instanceof UnparseableBody) return answer(json(400, { error: err.message }));
        throw err;
      }
      opts.producer.send(batch.records).then(
        () => answer(json(202, { accepted: batch.records.length, rejected: batch.rejected })),
        (err: Error) => answer(json(err instanceof IngestUnavailable ? 503 : 500, { error: err.message })),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
