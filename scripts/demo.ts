// `npm run demo`: the treasure-hunt pipeline (examples/treasure-hunt.yaml) end to end on a real
// broker and a real schema registry, started locally unless KAFKA_BROKERS / SCHEMA_REGISTRY_URL
// name running ones. It writes the players table and a burst of Avro player actions (with
// retries, unknown players and records that do not decode) to topics of its own, runs sluice
// in-process until every record is committed, then reads back what came out
// (scripts/demo/run-demo.ts). `-- --example player-stats` runs examples/player-stats.yaml on JSON
// actions instead; `-- --client platformatic` runs sluice on the other Kafka client.
import { parseArgs } from 'node:util';
import type { KafkaClientName } from '../src/clients/port.ts';
import { installWarningFilter } from '../src/observability/warnings.ts';
import { demoBrokers, demoRegistryUrl } from './demo/local-services.ts';
import { playerStats } from './demo/player-stats.ts';
import { runDemo } from './demo/run-demo.ts';
import type { DemoScenario } from './demo/scenario.ts';
import { treasureHunt } from './demo/treasure-hunt.ts';

installWarningFilter();
const SCENARIOS: Readonly<Record<string, DemoScenario>> = { 'treasure-hunt': treasureHunt, 'player-stats': playerStats };
const CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

function options(): { scenario: DemoScenario; client: KafkaClientName | undefined } {
  const { values } = parseArgs({ options: { example: { type: 'string', default: 'treasure-hunt' }, client: { type: 'string' } } });
  const scenario = SCENARIOS[values.example];
  const client = CLIENTS.find((c) => c === values.client);
  if (scenario === undefined || (values.client !== undefined && client === undefined)) {
    throw new Error(`usage: npm run demo -- [--example ${Object.keys(SCENARIOS).join('|')}] [--client ${CLIENTS.join('|')}]`);
  }
  return { scenario, client };
}

async function main(): Promise<void> {
  const { scenario, client } = options();
  const brokers = await demoBrokers();
  const events = Number(process.env.DEMO_EVENTS ?? 50_000);
  const outcome = await runDemo({ scenario, client, brokers, registryUrl: demoRegistryUrl, events, print: console.log });
  if (!outcome.deadLettersAsWritten) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`demo: ${(err as Error).message}`);
  process.exitCode = 1;
});
