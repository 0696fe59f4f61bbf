// `npm run registry:up | registry:down | registry:status`: the local development schema registry
// (Confluent API) on 127.0.0.1:8081 (override with SCHEMA_REGISTRY_PORT). Its files live in the
// cache dir, never in the repo; its storage is in memory, so a restart forgets every schema.
import { join } from 'node:path';
import { cacheRoot, pidAlive } from './kafka-broker.ts';
import { ensureJava21, ensureRegistryDist, readRegistryState, REGISTRY_VERSION, RegistryError, registryAnswers, startRegistry, stopRegistry } from './schema-registry-server.ts';

const port = Number(process.env.SCHEMA_REGISTRY_PORT ?? 8081);
const dir = join(cacheRoot(), 'dev-registry');

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      const running = readRegistryState(dir);
      if (running && pidAlive(running.pid) && (await registryAnswers(running.url))) {
        console.log(`registry: already running at ${running.url} (pid ${running.pid})`);
        return 0;
      }
      console.log(`registry: starting Apicurio Registry ${REGISTRY_VERSION} (in-memory) on 127.0.0.1:${port}, files in ${dir}`);
      const h = await startRegistry({ port, dir });
      console.log(`registry: ready at ${h.url} in ${(h.startMs / 1000).toFixed(1)}s (pid ${h.pid}); use it with SCHEMA_REGISTRY_URL=${h.url}; stop it with npm run registry:down`);
      return 0;
    }
    case 'down': {
      const res = await stopRegistry(dir);
      console.log(res === 'stopped' ? 'registry: stopped' : 'registry: was not running');
      return 0;
    }
    case 'status': {
      const s = readRegistryState(dir);
      if (s !== undefined && pidAlive(s.pid) && (await registryAnswers(s.url))) {
        console.log(`registry: running at ${s.url} (pid ${s.pid})`);
        return 0;
      }
      console.log('registry: not running');
      return 1;
    }
    case 'install': {
      // What `up` needs, fetched without starting anything (CI does this before the tests).
      const java = ensureJava21();
      console.log(`registry: Java ${java === 'java' ? 'on PATH' : `at ${java}`}, Apicurio Registry ${REGISTRY_VERSION} in ${ensureRegistryDist()}`);
      return 0;
    }
    default:
      console.error('usage: node scripts/schema-registry.ts up|down|status|install');
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (err) {
  if (!(err instanceof RegistryError)) throw err;
  console.error(`registry: ${err.message}`);
  process.exitCode = 1;
}
