// The demo's broker and schema registry: the ones named in the environment, else the local
// development ones (`npm run kafka:up`, `npm run registry:up`), reused when running and started
// otherwise. Both stay up after the demo, as after those commands.
import { join } from 'node:path';
import { cacheRoot, pidAlive, runningDevBroker, startBroker } from '../kafka-broker.ts';
import { readRegistryState, registryAnswers, startRegistry } from '../schema-registry-server.ts';

export async function demoBrokers(): Promise<string> {
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS;
  const dir = join(cacheRoot(), 'dev-broker');
  const port = Number(process.env.KAFKA_PORT ?? 9092);
  const running = await runningDevBroker(dir, port);
  if (running) return running;
  console.log('demo: starting the local Kafka broker (npm run kafka:down stops it)');
  return (await startBroker({ port, dir })).brokers;
}

/** The Confluent API base URL of the registry, what `schemaRegistry.url` takes. */
export async function demoRegistryUrl(): Promise<string> {
  if (process.env.SCHEMA_REGISTRY_URL) return process.env.SCHEMA_REGISTRY_URL;
  // The same directory and port as `npm run registry:up`, so either finds the other's registry.
  const dir = join(cacheRoot(), 'dev-registry');
  const running = readRegistryState(dir);
  if (running && pidAlive(running.pid) && (await registryAnswers(running.url))) return running.url;
  console.log('demo: starting the local schema registry (npm run registry:down stops it)');
  const handle = await startRegistry({ port: Number(process.env.SCHEMA_REGISTRY_PORT ?? 8081), dir, log: (line) => console.log(`demo: ${line}`) });
  console.log(`demo: schema registry ready at ${handle.url} in ${(handle.startMs / 1000).toFixed(1)}s`);
  return handle.url;
}
