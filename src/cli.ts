// `sluice run --config pipeline.yaml`. Expected failures (bad config, unreachable brokers, a
// missing topic, an unwritable state dir) print one line and exit with their code; only a bug
// prints a stack trace.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { startPipeline } from './app.ts';
import { loadConfigFile } from './config/load.ts';
import { exitCodeOf, isSluiceError } from './errors.ts';
import { createLogger } from './log.ts';
import { installWarningFilter } from './runtime/warnings.ts';
import { startWorkers } from './runtime/workers.ts';

const USAGE = `usage: sluice run --config <pipeline.yaml>

Runs a pipeline until SIGTERM or SIGINT, then finishes the batch in flight, commits and leaves
the consumer group. Configuration reference: docs/config.md. Exit codes: 0 stopped cleanly,
1 startup failed (brokers, topics, state dir), 2 invalid configuration, 70 internal error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parseArgs(argv: readonly string[]): { command: string | undefined; config: string | undefined; help: boolean } {
  let config: string | undefined;
  let help = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') config = argv[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else if (a === '--help' || a === '-h') help = true;
    else rest.push(a);
  }
  return { command: rest[0], config, help };
}

export async function main(argv: readonly string[]): Promise<number> {
  installWarningFilter();
  const args = parseArgs(argv);
  if (args.help || args.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (args.command === 'version' || argv.includes('--version')) {
    console.log(version());
    return 0;
  }
  if (args.command !== 'run' || args.config === undefined) {
    console.error(USAGE);
    return 2;
  }

  let log = createLogger('info');
  try {
    const config = loadConfigFile(args.config);
    // The environment wins over the file, so an operator can turn on debug logs without a redeploy.
    const env = process.env.SLUICE_LOG_LEVEL;
    const level = env === 'debug' || env === 'info' || env === 'warn' || env === 'error' ? env : undefined;
    log = createLogger(level ?? config.log.level);
    const workers = config.workers ?? availableParallelism();
    const running = workers === 1 ? await startPipeline(config, log) : await startWorkers(args.config, config, workers, log, level);
    const crashed = 'crashed' in running ? running.crashed : new Promise<number>(() => undefined);
    const signalled = new Promise<'signal'>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        log.info(`${sig} received: finishing the batch in flight, committing, leaving the group`);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve('signal');
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    const outcome = await Promise.race([signalled, crashed]);
    await running.stop();
    if (outcome !== 'signal') return outcome;
    return 0;
  } catch (err) {
    if (isSluiceError(err) && err.code !== 'SLUICE_INTERNAL') {
      console.error(`sluice: ${err.code}: ${err.message}`);
    } else {
      console.error('sluice: internal error (a bug; please report it with this trace):');
      console.error(err);
    }
    return exitCodeOf(err);
  }
}
