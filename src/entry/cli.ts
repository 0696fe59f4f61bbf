// `sluice run --config pipeline.yaml`. Expected failures (bad config, unreachable brokers, a
// missing topic, an unwritable state dir) print one line and exit with their code; only a bug
// prints a stack trace.
import { readFileSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { startPipeline } from './app.ts';
import { loadConfigFile } from '../config/load.ts';
import { exitCodeOf, isSluiceError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { installWarningFilter } from '../observability/warnings.ts';
import { startWorkers } from './workers.ts';

const USAGE = `usage: sluice run --config <pipeline.yaml>

Runs a pipeline until SIGTERM or SIGINT, then finishes the batch in flight, commits and leaves
the consumer group. Configuration reference: docs/config.md. Exit codes: 0 stopped cleanly,
1 startup failed (brokers, topics, state dir), 2 invalid configuration, 70 internal error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMANDS = ['run', 'help', 'version'];
/** A second stop signal within this long is the same request delivered twice. */
const SIGNAL_ECHO_MS = 1000;

interface Args {
  command: string | undefined;
  config: string | undefined;
  help: boolean;
  version: boolean;
  /** what is wrong with the command line, said before the usage */
  problem: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { command: undefined, config: undefined, help: false, version: false, problem: undefined };
  const fail = (problem: string) => (args.problem ??= problem);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) fail(`${a} needs a file: ${a} <pipeline.yaml>`);
      else args.config = argv[++i];
    } else if (a.startsWith('--config=')) args.config = a.slice('--config='.length);
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--version') args.version = true;
    else if (a.startsWith('-')) fail(`unknown option "${a}"`);
    else if (args.command === undefined) args.command = a;
    else fail(`unexpected argument "${a}"`);
  }
  if (args.command !== undefined && !COMMANDS.includes(args.command)) args.problem = `unknown command "${args.command}"`;
  return args;
}

/** The command line is wrong: say what, then how it goes. */
function usageError(problem: string): number {
  console.error(`sluice: ${problem}\n\n${USAGE}`);
  return 2;
}

export async function main(argv: readonly string[]): Promise<number> {
  installWarningFilter();
  const args = parseArgs(argv);
  if (args.problem !== undefined) return usageError(args.problem);
  if (args.help || args.command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (args.command === 'version' || args.version) {
    console.log(version());
    return 0;
  }
  if (args.command === undefined) return usageError('no command given');
  if (args.config === undefined || args.config === '') return usageError('run needs --config <pipeline.yaml>');

  let log = createLogger('info');
  try {
    const config = loadConfigFile(args.config);
    // The environment wins over the file, so an operator can turn on debug logs without a redeploy.
    const env = process.env.SLUICE_LOG_LEVEL;
    const level = env === 'debug' || env === 'info' || env === 'warn' || env === 'error' ? env : undefined;
    log = createLogger(level ?? config.log.level);
    const workers = config.workers ?? availableParallelism();
    const running = workers === 1 ? await startPipeline(config, log) : await startWorkers(config, workers, log, level);
    const crashed = 'crashed' in running ? running.crashed : new Promise<number>(() => undefined);
    let stopRequestedAt: number | undefined;
    let onStopRequest!: (sig: NodeJS.Signals) => void;
    const signalled = new Promise<'signal'>((resolve) => {
      onStopRequest = (sig) => {
        if (stopRequestedAt === undefined) {
          stopRequestedAt = Date.now();
          log.info(`${sig} received: finishing the batch in flight, committing, leaving the group`);
          resolve('signal');
          return;
        }
        // One request often arrives twice: a terminal's Ctrl-C or a supervisor's group kill reaches
        // a launcher (npm, bin/node-launcher.cjs) as well as sluice, and the launcher forwards it.
        // A repeat that close is that echo; a later one is an operator who will not wait.
        if (Date.now() - stopRequestedAt < SIGNAL_ECHO_MS) return;
        log.warn(`${sig} received again: exiting now; the open transaction aborts and is processed again`);
        process.exit(128 + (constants.signals[sig] ?? 0));
      };
      process.on('SIGTERM', onStopRequest);
      process.on('SIGINT', onStopRequest);
    });
    const outcome = await Promise.race([signalled, crashed]);
    await running.stop();
    process.off('SIGTERM', onStopRequest);
    process.off('SIGINT', onStopRequest);
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
