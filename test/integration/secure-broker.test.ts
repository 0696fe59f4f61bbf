// sluice against a broker of its own whose client listener is SASL_SSL only: TLS with a
// certificate from a CA the test makes, a client certificate required, and SASL users for PLAIN
// (JAAS) and SCRAM (created when the storage is formatted). Every connection either client makes
// (group, fetches, transactional producers, admin, offset lookups, changelog restores) must carry
// kafka.ssl and kafka.sasl, or the listener drops it. The PLAINTEXT listener is the broker's own
// (inter-broker and its readiness probe); nothing of the test uses it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, startBroker, stopBroker } from '../../scripts/kafka-broker.ts';
import type { SaslMechanism } from '../../src/clients/port.ts';
import { parseConfig } from '../../src/config/load.ts';
import { openClient } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { counterTotal } from '../../src/observability/metrics.ts';
import { KAFKA_CLIENTS, createTopics, uniqueName } from '../helpers/kafka.ts';
import type { KafkaTarget } from '../helpers/kafka.ts';
import { MINIMAL_CONFIG } from '../helpers/minimal-config.ts';
import { createScenario, runWithFullRestore } from '../helpers/scenario.ts';
import type { ScenarioBroker } from '../helpers/scenario.ts';
import { runSluiceToExit } from '../helpers/sluice-process.ts';
import { makeTestCertificates } from '../helpers/test-certificates.ts';
import type { TestCertificates } from '../helpers/test-certificates.ts';

const root = mkdtempSync(join(tmpdir(), 'sluice-secure-'));
const brokerDir = join(root, 'broker');
const USER = 'sluice';
const PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;
const passwordFile = join(root, 'password');
let certs: TestCertificates;
let secureBrokers: string;

beforeAll(async () => {
  certs = makeTestCertificates(join(root, 'tls'));
  // With the newline `echo` leaves: sluice must ignore it.
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const port = await freePort();
  let saslPort = await freePort();
  while (saslPort === port) saslPort = await freePort();
  const handle = await startBroker({
    port,
    dir: brokerDir,
    heapMb: 512,
    saslSsl: { port: saslPort, keyAndCertificate: certs.brokerKeyAndCertificate, clientCa: certs.ca, users: { [USER]: PASSWORD } },
    log: (line) => console.log(`[secure-broker] ${line}`),
  });
  secureBrokers = handle.saslSslBrokers!;
  console.log(`[secure-broker] SASL_SSL at ${secureBrokers}, started in ${(handle.startMs / 1000).toFixed(1)}s`);
}, 240_000);

afterAll(async () => {
  await stopBroker(brokerDir);
});

/** kafka.ssl: the test CA, and the client certificate the listener requires. */
const sslConfig = (ca = certs.ca) => ({ ca, cert: certs.clientCert, key: certs.clientKey });
const saslConfig = (mechanism: SaslMechanism, password: { passwordFile: string } | { passwordEnv: string } = { passwordFile }) => ({ mechanism, username: USER, ...password });

/** How the test's own kafkajs helpers reach the listener: the same files, read by the test. */
function helperTarget(): KafkaTarget {
  const pem = (path: string) => readFileSync(path, 'utf8');
  return { brokers: [secureBrokers], ssl: { ca: pem(certs.ca), cert: pem(certs.clientCert), key: pem(certs.clientKey) }, sasl: { mechanism: 'scram-sha-512', username: USER, password: PASSWORD } };
}

describe.each(KAFKA_CLIENTS)('SASL_SSL broker on %s', (client) => {
  it('runs the pipeline exactly-once over SCRAM-SHA-512 and mutual TLS, restores included, and matches the oracle', async () => {
    const broker: ScenarioBroker = { target: helperTarget(), pipelineKafka: { ssl: sslConfig(), sasl: saslConfig('scram-sha-512') } };
    const s = await createScenario({ client, name: 'secure', partitions: 3, events: 3000, seed: 43, broker });
    // The second run restores every partition from its changelog, over the same secured connections.
    await runWithFullRestore(s, createLogger('warn'), async (second) => {
      expect(await counterTotal(second.metrics.restoredRecords), 'changelog records restored').toBeGreaterThan(0);
    });
  });

  it.each(['plain', 'scram-sha-256'] as const)('connects with %s, the password from an environment variable', async (mechanism) => {
    const topic = uniqueName('secure-check');
    await createTopics([{ topic, numPartitions: 1 }], helperTarget());
    const variable = `SLUICE_TEST_KAFKA_PASSWORD_${randomBytes(4).toString('hex')}`;
    process.env[variable] = PASSWORD;
    try {
      const config = parseConfig({ ...MINIMAL_CONFIG, kafka: { brokers: [secureBrokers], client, ssl: sslConfig(), sasl: saslConfig(mechanism, { passwordEnv: variable }) } });
      const connected = await openClient(config, createLogger('warn'));
      try {
        expect(await connected.topics.listTopics()).toContain(topic);
        expect(await connected.highWatermark(topic, 0)).toBe('0');
      } finally {
        await connected.close();
      }
    } finally {
      delete process.env[variable];
    }
  });

  it('checks the broker certificate against kafka.ssl.servername when one is given', async () => {
    const config = parseConfig({ ...MINIMAL_CONFIG, kafka: { brokers: [secureBrokers], client, connectTimeout: '60s', ssl: { ...sslConfig(), servername: 'not-the-broker.example' }, sasl: saslConfig('scram-sha-512') } });
    const started = Date.now();
    await expect(openClient(config, createLogger('error'))).rejects.toMatchObject({ code: 'SLUICE_KAFKA_TLS_FAILED', message: expect.stringContaining('(ERR_TLS_CERT_ALTNAME_INVALID)') });
    expect(Date.now() - started, 'long before connectTimeout').toBeLessThan(40_000);
  });

  describe('sluice run refuses at startup, without waiting for kafka.connectTimeout', () => {
    async function run(name: string, kafka: Record<string, unknown>) {
      const file = join(root, `${name}-${client}.yaml`);
      const config = { ...MINIMAL_CONFIG, kafka: { brokers: [secureBrokers], client, connectTimeout: '60s', ...kafka }, application: { id: uniqueName(name), stateDir: join(root, `state-${name}-${client}`) } };
      writeFileSync(file, stringify(config));
      const started = Date.now();
      const result = await runSluiceToExit(['run', '--config', file], join(root, `${name}-${client}.log`));
      return { ...result, ms: Date.now() - started };
    }

    it('a wrong password: SLUICE_KAFKA_AUTH_FAILED, exit 2', async () => {
      const wrong = join(root, 'wrong-password');
      writeFileSync(wrong, 'not-the-password\n');
      const r = await run('wrong-password', { ssl: sslConfig(), sasl: saslConfig('scram-sha-512', { passwordFile: wrong }) });
      expect(r.output).toMatch(new RegExp(`SLUICE_KAFKA_AUTH_FAILED: Kafka brokers ${secureBrokers} refused SASL authentication as "${USER}" \\(scram-sha-512\\)`));
      expect(r.code).toBe(2);
      expect(r.ms, 'long before connectTimeout').toBeLessThan(40_000);
    });

    it('a broker certificate the configured CA did not sign: SLUICE_KAFKA_TLS_FAILED, exit 2', async () => {
      const r = await run('untrusted', { ssl: sslConfig(certs.otherCa), sasl: saslConfig('scram-sha-512') });
      expect(r.output).toMatch(new RegExp(`SLUICE_KAFKA_TLS_FAILED: TLS handshake with Kafka brokers ${secureBrokers} failed: .*\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\)`));
      expect(r.code).toBe(2);
      expect(r.ms, 'long before connectTimeout').toBeLessThan(40_000);
    });

    it('no client certificate where the listener requires one: SLUICE_KAFKA_TLS_FAILED, exit 2', async () => {
      const r = await run('no-client-cert', { ssl: { ca: certs.ca }, sasl: saslConfig('scram-sha-512') });
      expect(r.output).toMatch(new RegExp(`SLUICE_KAFKA_TLS_FAILED: TLS handshake with Kafka brokers ${secureBrokers} failed: .*alert bad certificate`));
      expect(r.code).toBe(2);
      expect(r.ms, 'long before connectTimeout').toBeLessThan(40_000);
    });
  });
});
