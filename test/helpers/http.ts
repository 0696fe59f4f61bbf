// A pipeline with its HTTP server on, for the HTTP API's integration tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/kafka-broker.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import { parseConfig } from '../../src/config/load.ts';
import { brokers, createTopics, uniqueName } from './kafka.ts';

export const HTTP_TEST_PARTITIONS = 4;

/** A pipeline counting events per player, serving HTTP on a free port (`url`), over fresh topics. */
export async function httpPipeline(client: KafkaClientName, name: string, http: Record<string, unknown> = {}) {
  const appId = uniqueName(name);
  const t = { input: `${appId}-in`, output: `${appId}-out`, dlq: `${appId}-dlq` };
  await createTopics([{ topic: t.input, numPartitions: HTTP_TEST_PARTITIONS }]);
  const port = await freePort();
  const config = parseConfig({
    kafka: { brokers: brokers(), client, clientId: 'sluice-test', sessionTimeout: '6s' },
    application: { id: appId, stateDir: mkdtempSync(join(tmpdir(), `sluice-${name}-`)) },
    input: { topic: t.input, key: 'playerId', eventTime: { field: 'ts' } },
    windows: [{ name: 'per_player', groupBy: ['playerId'], tumbling: '1m', emit: 'update', aggregates: { n: 'count()', points: 'sum(points)' } }],
    output: { topic: t.output },
    deadLetter: { topic: t.dlq },
    http: { port, ...http },
  });
  return { config, ...t, url: `http://127.0.0.1:${port}` };
}

export function postEvents(url: string, events: readonly unknown[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/events`, { method: 'POST', body: JSON.stringify(events), headers: { 'content-type': 'application/json', ...headers } });
}
