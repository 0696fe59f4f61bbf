// One candidate server in a process of its own (forked by bench/http/ingest.ts), so that the load
// generator never shares its event loop: `serve.ts <fastify|node> <port> <brokers|none> <topic>`.
// With `none`, sends are acknowledged at once: the framework's own cost, without Kafka's.
import type { RecordProducer } from '../../src/clients/port.ts';
import { parseConfig } from '../../src/config/load.ts';
import { openClient } from '../../src/entry/app.ts';
import { IngestProducer } from '../../src/http/ingest-producer.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';
import { installWarningFilter } from '../../src/observability/warnings.ts';
import { startNodeServer } from './node-server.ts';

installWarningFilter();
const [kind, portText, brokers, topic] = process.argv.slice(2) as [string, string, string, string];
const port = Number(portText);
let open: () => Promise<RecordProducer> = async () => ({ send: async () => undefined, close: async () => undefined });
if (brokers !== 'none') {
  const config = parseConfig({
    kafka: { brokers: brokers.split(','), clientId: 'sluice-bench-http' },
    application: { id: 'bench-http' },
    input: { topic, key: 'playerId' },
    windows: [{ name: 'w', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()' } }],
    output: { topic: `${topic}-out` },
    deadLetter: { topic: `${topic}-dlq` },
  });
  const client = await openClient(config, createLogger('warn'));
  if (!(await client.topics.listTopics()).includes(topic)) await client.topics.createTopics([{ topic, partitions: 4 }]);
  open = () => client.producer();
}
const common = { host: '127.0.0.1', port, maxBodyBytes: 1_048_576, authToken: 'bench-token', ingest: { topic, keyField: 'playerId', maxRecordBytes: 1_048_576, format: 'json' }, producer: new IngestProducer(open, 10_000, 64 << 20) };
if (kind === 'fastify') {
  await startHttpServer({ ...common, readyMaxLag: 0, metrics: async () => ({ contentType: 'text/plain', body: '' }), failure: () => undefined, progress: async () => [], aggregates: { windows: [], ask: async () => [], ownerOf: () => undefined, self: '', progress: async () => [] } });
} else {
  await startNodeServer(common);
}
process.send?.('listening');
