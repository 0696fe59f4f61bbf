// Picks the Kafka broker for the integration project, in this order:
//   1. KAFKA_BROKERS is set: use it as it is;
//   2. a Docker engine answers: @testcontainers/kafka;
//   3. otherwise: a local JVM broker from Apache Kafka's jars (scripts/kafka-broker.ts), on a free port.
// The chosen path is printed so a CI log shows which broker the tests ran against.
// The schema registry is SCHEMA_REGISTRY_URL when set; else the first test that needs one starts a
// local one (test/helpers/schema-registry.ts) into the directory given here, and the teardown
// stops it: runs without such a test pay nothing for it.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, startBroker, stopBroker } from '../../scripts/kafka-broker.ts';
import { stopRegistry } from '../../scripts/schema-registry-server.ts';
import { installWarningFilter } from '../../src/observability/warnings.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    kafkaSource: 'env' | 'testcontainers' | 'local-jvm';
    /** the local broker's directory, for tests that restart it ('' when the project does not run the broker) */
    kafkaBrokerDir: string;
    /** SCHEMA_REGISTRY_URL, or '' when the tests start their own registry in schemaRegistryDir */
    schemaRegistryUrl: string;
    schemaRegistryDir: string;
  }
}

async function dockerReason(): Promise<string | undefined> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return 'no DOCKER_HOST and no /var/run/docker.sock';
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** Provides the registry to the tests; returns the teardown that stops one they started. */
function provideRegistry(project: TestProject): () => Promise<void> {
  const fromEnv = process.env.SCHEMA_REGISTRY_URL ?? '';
  const dir = join(tmpdir(), `sluice-test-registry-${process.pid}`);
  if (fromEnv) console.log(`[registry] using SCHEMA_REGISTRY_URL=${fromEnv}`);
  project.provide('schemaRegistryUrl', fromEnv);
  project.provide('schemaRegistryDir', dir);
  return async () => {
    if ((await stopRegistry(dir)) === 'stopped') console.log('[registry] stopped the local schema registry');
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  installWarningFilter();
  const stopOwnRegistry = provideRegistry(project);
  const teardown = await setupKafka(project);
  return async () => {
    await stopOwnRegistry();
    await teardown();
  };
}

async function setupKafka(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) {
    console.log(`[kafka] using KAFKA_BROKERS=${fromEnv}`);
    project.provide('kafkaBrokers', fromEnv);
    project.provide('kafkaSource', 'env');
    project.provide('kafkaBrokerDir', process.env.KAFKA_BROKER_DIR ?? '');
    return async () => undefined;
  }

  const noDocker = await dockerReason();
  if (noDocker === undefined) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const container = await new KafkaContainer('apache/kafka:4.1.1').withKraft().start();
    const brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
    console.log(`[kafka] using testcontainers broker at ${brokers}`);
    project.provide('kafkaBrokers', brokers);
    project.provide('kafkaSource', 'testcontainers');
    project.provide('kafkaBrokerDir', '');
    return async () => {
      await container.stop();
    };
  }

  console.log(`[kafka] testcontainers skipped: no Docker engine (${noDocker})`);
  const dir = join(tmpdir(), `sluice-test-broker-${process.pid}`);
  const port = await freePort();
  const handle = await startBroker({ port, dir, log: (l) => console.log(`[kafka] ${l}`) });
  console.log(`[kafka] started local JVM broker (Apache Kafka, KRaft) at ${handle.brokers} in ${(handle.startMs / 1000).toFixed(1)}s, pid ${handle.pid}`);
  project.provide('kafkaBrokers', handle.brokers);
  project.provide('kafkaSource', 'local-jvm');
  project.provide('kafkaBrokerDir', dir);
  return async () => {
    await stopBroker(dir);
    console.log(`[kafka] stopped local broker pid ${handle.pid}`);
  };
}
