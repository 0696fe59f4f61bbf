// `npm run kafka:up | kafka:down | kafka:status | kafka:topics`: the local development broker on
// 127.0.0.1:9092 (override with KAFKA_PORT), and its topics. Its data lives in the cache dir, never
// in the repo.
import { join } from 'node:path';
import { installWarningFilter } from '../src/observability/warnings.ts';
import { BrokerError, brokerAnswers, cacheRoot, KAFKA_VERSION, pidAlive, readBrokerState, runningDevBroker, startBroker, stopBroker } from './kafka-broker.ts';
import { topicsCommand, TopicsError } from './kafka-topics.ts';

const port = Number(process.env.KAFKA_PORT ?? 9092);
const dir = join(cacheRoot(), 'dev-broker');

installWarningFilter();

async function main(cmd: string | undefined, args: readonly string[]): Promise<number> {
  switch (cmd) {
    case 'up': {
      const running = readBrokerState(dir);
      if (running && pidAlive(running.pid) && (await brokerAnswers(running.brokers))) {
        console.log(`kafka: already running at ${running.brokers} (pid ${running.pid})`);
        return 0;
      }
      console.log(`kafka: starting Apache Kafka ${KAFKA_VERSION} (KRaft) on 127.0.0.1:${port}, data in ${dir}`);
      const h = await startBroker({ port, dir });
      console.log(`kafka: ready at ${h.brokers} in ${(h.startMs / 1000).toFixed(1)}s (pid ${h.pid}); stop it with npm run kafka:down`);
      return 0;
    }
    case 'down': {
      const res = await stopBroker(dir);
      console.log(res === 'stopped' ? 'kafka: stopped' : 'kafka: was not running');
      return 0;
    }
    case 'status': {
      const s = readBrokerState(dir);
      const up = s !== undefined && pidAlive(s.pid) && (await brokerAnswers(s.brokers));
      if (up) {
        console.log(`kafka: running at ${s.brokers} (pid ${s.pid})`);
        return 0;
      }
      const other = await runningDevBroker(dir, port);
      console.log(other ? `kafka: a broker answers at ${other} (not started from ${dir})` : 'kafka: not running');
      return other ? 0 : 1;
    }
    case 'topics': {
      const brokers = process.env.KAFKA_BROKERS || ((await runningDevBroker(dir, port)) ?? `127.0.0.1:${port}`);
      return topicsCommand(args, brokers);
    }
    default:
      console.error('usage: node scripts/kafka.ts up|down|status|topics');
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2], process.argv.slice(3));
} catch (err) {
  if (err instanceof BrokerError) {
    console.error(`kafka: ${err.message}`);
    process.exitCode = 1;
  } else if (err instanceof TopicsError) {
    console.error(`kafka: ${err.message}`);
    process.exitCode = err.exitCode;
  } else throw err;
}
