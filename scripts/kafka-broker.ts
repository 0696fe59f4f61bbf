// A real single-node Apache Kafka broker (KRaft, combined broker+controller) for development and
// integration tests, run from the jars on Maven Central so that no Docker engine is needed.
// The version is pinned in scripts/kafka/pom.xml; jars are cached outside the repo so a second
// start downloads nothing.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from '../src/clients/kafkajs/loader.ts';

const POM = join(dirname(fileURLToPath(import.meta.url)), 'kafka', 'pom.xml');
export const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'))?.[1] ?? 'unknown';

export function cacheRoot(): string {
  return process.env.SLUICE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice');
}

export class BrokerError extends Error {
  override name = 'BrokerError';
}

export interface BrokerHandle {
  brokers: string;
  port: number;
  pid: number;
  dir: string;
  startMs: number;
  /** the JVM arguments it was started with, so it can be restarted on the same data */
  jvm?: string[];
  /** host:port of the SASL_SSL listener, when it was started with one */
  saslSslBrokers?: string;
}

/**
 * A SASL_SSL listener beside the PLAINTEXT one (which stays the inter-broker listener and what
 * the readiness probe asks): TLS with the broker's certificate, a client certificate required
 * when `clientCa` is given, and SASL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
 */
export interface SaslSslListener {
  port: number;
  /** PEM file: the broker's unencrypted PKCS#8 private key, then its certificate chain */
  keyAndCertificate: string;
  /** PEM file of the CA that client certificates must chain to; undefined: none asked for */
  clientCa?: string;
  /** user name -> password, for PLAIN (in the JAAS config) and both SCRAM mechanisms (in the storage, at format time) */
  users: Readonly<Record<string, string>>;
}

const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

// JAAS option values are double-quoted strings: user names and passwords of the test setup only.
const jaasQuote = (value: string): string => JSON.stringify(value);

function saslSslProperties(l: SaslSslListener): string[] {
  const plainUsers = Object.entries(l.users).map(([name, password]) => `user_${name}=${jaasQuote(password)}`);
  return [
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers.join(' ')};`,
    ...SCRAM_MECHANISMS.map((m) => `listener.name.sasl_ssl.${m.toLowerCase()}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`),
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${l.keyAndCertificate}`,
    // A SASL_SSL listener ignores a plain ssl.client.auth (KIP-684): only the listener's own counts.
    ...(l.clientCa === undefined ? [] : ['listener.name.sasl_ssl.ssl.client.auth=required', 'ssl.truststore.type=PEM', `ssl.truststore.location=${l.clientCa}`]),
  ];
}

/** `--add-scram` arguments of the storage tool: every user under both SCRAM mechanisms. */
function scramUsers(l: SaslSslListener | undefined): string[] {
  if (l === undefined) return [];
  return Object.entries(l.users).flatMap(([name, password]) => SCRAM_MECHANISMS.map((m) => `--add-scram=${m}=[name=${name},password=${password}]`));
}

function javaMajor(): number | undefined {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) return undefined;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(java.stderr);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 ? Number(m[2]) : first;
}

function requireJava(): void {
  const major = javaMajor();
  if (major === undefined) {
    throw new BrokerError('Java was not found on PATH. The local Kafka broker needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS to use an existing broker.');
  }
  if (major < 17) throw new BrokerError(`Java ${major} found, but Kafka ${KAFKA_VERSION} needs Java 17 or newer.`);
}

/** Resolves the broker jars into the cache once; later calls only check the marker file. */
export function ensureKafkaJars(log: (line: string) => void = console.log): string {
  const home = join(cacheRoot(), `kafka-${KAFKA_VERSION}`);
  const libs = join(home, 'libs');
  const marker = join(home, '.complete');
  if (existsSync(marker)) return libs;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error || mvn.status !== 0) {
    throw new BrokerError('Maven (mvn) was not found on PATH. It is needed once, to fetch the Kafka broker jars (Debian: apt-get install maven), or set KAFKA_BROKERS to use an existing broker.');
  }
  log(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars into ${libs} (once)`);
  rmSync(libs, { recursive: true, force: true });
  const started = Date.now();
  const res = spawnSync('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) {
    throw new BrokerError(`Maven could not fetch the Kafka jars (exit ${res.status}):\n${(res.stdout + res.stderr).split('\n').slice(-30).join('\n')}`);
  }
  const jars = readdirSync(libs).filter((f) => f.endsWith('.jar'));
  if (!jars.some((j) => j.startsWith('kafka_2.13-'))) throw new BrokerError(`Maven finished but ${libs} holds no kafka_2.13 jar`);
  writeFileSync(marker, `${jars.length} jars\n`);
  log(`kafka: ${jars.length} jars fetched in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return libs;
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function serverProperties(dir: string, port: number, controllerPort: number, saslSsl: SaslSslListener | undefined): string {
  const secure = saslSsl === undefined ? '' : `,SASL_SSL://127.0.0.1:${saslSsl.port}`;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${secure}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${secure}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${saslSsl === undefined ? '' : ',SASL_SSL:SASL_SSL'}`,
    ...(saslSsl === undefined ? [] : saslSslProperties(saslSsl)),
    `log.dirs=${join(dir, 'data')}`,
    // As in production: topics exist only when someone creates them.
    'auto.create.topics.enable=false',
    'num.partitions=1',
    // Single node: without these, the group and transaction coordinators wait for replicas that never come.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=8',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.cleaner.backoff.ms=1000',
    '',
  ].join('\n');
}

const STATE_FILE = 'broker.json';

export function readBrokerState(dir: string): BrokerHandle | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as BrokerHandle;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function brokerAnswers(brokers: string, timeoutMs = 3000): Promise<boolean> {
  const admin = new Kafka({ clientId: 'sluice-dev-probe', brokers: [brokers], logLevel: logLevel.NOTHING, connectionTimeout: timeoutMs, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [] });
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The local dev broker's address when one answers: the one this tool recorded in `dir`, else
 * whatever answers on 127.0.0.1:`port` (a dev broker started with another cache dir, say).
 */
export async function runningDevBroker(dir: string, port: number): Promise<string | undefined> {
  const s = readBrokerState(dir);
  if (s && pidAlive(s.pid) && (await brokerAnswers(s.brokers))) return s.brokers;
  const here = `127.0.0.1:${port}`;
  if (s?.brokers !== here && !(await portIsFree(port)) && (await brokerAnswers(here))) return here;
  return undefined;
}

function logTail(dir: string, lines = 40): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface StartOptions {
  port: number;
  dir: string;
  readyTimeoutMs?: number;
  heapMb?: number;
  log?: (line: string) => void;
  /** a SASL_SSL listener as well (the secure-broker tests) */
  saslSsl?: SaslSslListener;
}

/** Formats fresh KRaft storage in `dir` and starts a broker detached from this process. */
export async function startBroker(opts: StartOptions): Promise<BrokerHandle> {
  const log = opts.log ?? console.log;
  requireJava();
  const libs = ensureKafkaJars(log);
  for (const port of [opts.port, ...(opts.saslSsl === undefined ? [] : [opts.saslSsl.port])]) {
    if (!(await portIsFree(port))) {
      throw new BrokerError(`port ${port} on 127.0.0.1 is taken. Stop what holds it (a broker started earlier: npm run kafka:down), or choose another port.`);
    }
  }
  const controllerPort = await freePort();
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  const props = join(opts.dir, 'server.properties');
  writeFileSync(props, serverProperties(opts.dir, opts.port, controllerPort, opts.saslSsl));
  writeFileSync(join(opts.dir, 'log4j2.properties'), [
    'status = error',
    'appender.out.type = Console',
    'appender.out.name = OUT',
    'appender.out.layout.type = PatternLayout',
    'appender.out.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.out.ref = OUT',
    'logger.kafka.name = kafka',
    'logger.kafka.level = WARN',
    'logger.state.name = state.change.logger',
    'logger.state.level = WARN',
    '',
  ].join('\n'));
  const cp = `${libs}/*`;
  const jvm = [`-Xms${opts.heapMb ?? 768}m`, `-Xmx${opts.heapMb ?? 768}m`, '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(opts.dir, 'log4j2.properties')}`, '-cp', cp];
  // base64url may start with "-"; the "=" form keeps the storage tool from reading it as a flag.
  const clusterId = randomBytes(16).toString('base64url');
  const started = Date.now();
  const fmt = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, `--config=${props}`, ...scramUsers(opts.saslSsl)], { encoding: 'utf8' });
  if (fmt.status !== 0) throw new BrokerError(`formatting Kafka storage failed:\n${fmt.stdout}${fmt.stderr}`);

  const handle = await launch(opts.dir, opts.port, jvm, started, opts.readyTimeoutMs ?? 90_000);
  if (opts.saslSsl !== undefined) {
    handle.saslSslBrokers = `127.0.0.1:${opts.saslSsl.port}`;
    writeFileSync(join(opts.dir, STATE_FILE), JSON.stringify(handle));
  }
  return handle;
}

/** Starts `kafka.Kafka` on the storage and config already in `dir`, detached, and waits until it answers. */
async function launch(dir: string, port: number, jvm: string[], started: number, readyTimeoutMs: number): Promise<BrokerHandle> {
  const out = openSync(join(dir, 'server.log'), 'a');
  const child = spawn('java', [...jvm, 'kafka.Kafka', join(dir, 'server.properties')], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new BrokerError('could not start java');
  const brokers = `127.0.0.1:${port}`;
  const handle: BrokerHandle = { brokers, port, pid, dir, startMs: 0, jvm };
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(handle));

  const deadline = started + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) throw new BrokerError(`the Kafka broker exited during start. Last lines of ${join(dir, 'server.log')}:\n${logTail(dir)}`);
    if (await brokerAnswers(brokers, 1000)) {
      handle.startMs = Date.now() - started;
      writeFileSync(join(dir, STATE_FILE), JSON.stringify(handle));
      return handle;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stopBroker(dir);
  throw new BrokerError(`the Kafka broker did not answer within ${Math.round(readyTimeoutMs / 1000)}s. Last lines of its log:\n${logTail(dir)}`);
}

/**
 * Stops the broker in `dir` cleanly and starts it again on the same data: a broker restart.
 * `downMs` keeps it stopped that long before it starts again (an outage, not just a restart).
 */
export async function restartBroker(dir: string, readyTimeoutMs = 90_000, downMs = 0): Promise<BrokerHandle> {
  const state = readBrokerState(dir);
  if (state?.jvm === undefined) throw new BrokerError(`no broker started by this tool is recorded in ${dir}`);
  await stopBroker(dir);
  if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
  const handle = await launch(dir, state.port, state.jvm, Date.now(), readyTimeoutMs);
  if (state.saslSslBrokers !== undefined) {
    handle.saslSslBrokers = state.saslSslBrokers;
    writeFileSync(join(dir, STATE_FILE), JSON.stringify(handle));
  }
  return handle;
}

/** Stops the broker recorded in `dir` (SIGTERM, then SIGKILL after a grace period). */
export async function stopBroker(dir: string, graceMs = 20_000): Promise<'stopped' | 'not-running'> {
  const state = readBrokerState(dir);
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
