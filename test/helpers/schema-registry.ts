// The real schema registry for integration tests: SCHEMA_REGISTRY_URL when set, else one local
// registry per test run, started by the first test that asks and stopped by the global teardown
// (test/integration/global-setup.ts). Test files run one at a time, so two never start it at once.
import { inject } from 'vitest';
import { freePort, pidAlive } from '../../scripts/kafka-broker.ts';
import { readRegistryState, registryAnswers, startRegistry } from '../../scripts/schema-registry-server.ts';

export async function schemaRegistryUrl(): Promise<string> {
  const fromEnv = inject('schemaRegistryUrl');
  if (fromEnv) return fromEnv;
  const dir = inject('schemaRegistryDir');
  const running = readRegistryState(dir);
  if (running && pidAlive(running.pid) && (await registryAnswers(running.url))) return running.url;
  const handle = await startRegistry({ port: await freePort(), dir, log: (l) => console.log(`[registry] ${l}`) });
  console.log(`[registry] started the local schema registry at ${handle.url} in ${(handle.startMs / 1000).toFixed(1)}s, pid ${handle.pid}`);
  return handle.url;
}
