// `sluice run --config pipeline.yaml`, and `sluice dlq inspect|replay` over its dead letters
// (src/entry/dlq.ts). Expected failures (bad config, unreachable brokers, a
// missing topic, an unwritable state dir) print one line and exit with their code; only a bug
// prints a stack trace.
import { readFileSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { openClient, startPipeline } from './app.ts';
import type { SluiceConfig } from '../config/schema.ts';
import { inspectDeadLetters, parseSince, replayDeadLetters } from './dlq.ts';
import type { Logger } from '../log.ts';
import { loadConfigFile } from '../config/load.ts';
import { exitCodeOf, isSluiceError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { installWarningFilter } from '../observability/warnings.ts';
import { startWorkers } from './workers.ts';

const USAGE = `usage: sluice run --config <pipeline.yaml>
       sluice dlq inspect --config <pipeline.yaml> [--reason <r>]... [--since <t>]
       sluice dlq replay --config <pipeline.yaml> [--reason <r>]... [--since <t>] [--dry-run]

run: runs a pipeline until SIGTERM or SIGINT, then finishes the batch in flight, commits and
leaves the consumer group. Configuration reference: docs/config.md.
dlq inspect: counts the pipeline's dead letters per reason and shows a few of each.
dlq replay: re-produces the selected dead letters' original records to the input topic, once
their cause is fixed. --since takes an ISO-8601 time or a duration back from now (2h);
--dry-run only says what it would replay. Read docs/dead-letters.md before a replay.
Exit codes: 0 done, 1 startup failed (brokers, topics, state dir), 2 invalid configuration or
arguments, 70 internal error, 130 replay interrupted (what it reported is on the input topic).`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMANDS = ['run', 'dlq', 'help', 'version'];
const DLQ_COMMANDS = ['inspect', 'replay'];
/** A second stop signal within this long is the same request delivered twice. */
const SIGNAL_ECHO_MS = 1000;

interface Args {
  command: string | undefined;
  /** dlq's: inspect or replay */
  subcommand: string | undefined;
  config: string | undefined;
  reasons: string[];
  since: string | undefined;
  dryRun: boolean;
  help: boolean;
  version: boolean;
  /** what is wrong with the command line, said before the usage */
  problem: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { command: undefined, subcommand: undefined, config: undefined, reasons: [], since: undefined, dryRun: false, help: false, version: false, problem: undefined };
  const fail = (problem: string) => (args.problem ??= problem);
  /** the value of an option that takes one: `--name value` or `--name=value` */
  const valueOf = (a: string, name: string, what: string, i: number): [string | undefined, number] => {
    if (a.startsWith(`${name}=`)) return [a.slice(name.length + 1), i];
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('-')) {
      fail(`${name} needs ${what}`);
      return [undefined, i];
    }
    return [next, i + 1];
  };
  const optionName = (a: string) => a.split('=')[0]!;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = optionName(a);
    if (a === '-c' || name === '--config') [args.config, i] = valueOf(a === '-c' ? '--config' : a, '--config', 'a file: --config <pipeline.yaml>', i);
    else if (name === '--reason') {
      let reason: string | undefined;
      [reason, i] = valueOf(a, '--reason', 'a reason: --reason <reason>', i);
      if (reason !== undefined) args.reasons.push(...reason.split(',').filter((r) => r !== ''));
    } else if (name === '--since') [args.since, i] = valueOf(a, '--since', 'a time: --since <ISO-8601 time | duration>', i);
    else if (a === '--dry-run') args.dryRun = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--version') args.version = true;
    else if (a.startsWith('-')) fail(`unknown option "${a}"`);
    else if (args.command === undefined) args.command = a;
    else if (args.command === 'dlq' && args.subcommand === undefined) args.subcommand = a;
    else fail(`unexpected argument "${a}"`);
  }
  if (args.command !== undefined && !COMMANDS.includes(args.command)) args.problem = `unknown command "${args.command}"`;
  else if (args.command === 'dlq' && !DLQ_COMMANDS.includes(args.subcommand ?? '')) fail(args.subcommand === undefined ? 'dlq needs inspect or replay' : `unknown dlq command "${args.subcommand}"`);
  else if (args.command !== 'dlq' && (args.reasons.length > 0 || args.since !== undefined)) fail('--reason and --since apply to dlq inspect and dlq replay only');
  if (args.dryRun && args.subcommand !== 'replay') fail('--dry-run applies to dlq replay only');
  return args;
}

/**
 * `dlq inspect` or `dlq replay`. A first SIGINT or SIGTERM stops a replay after the request in
 * flight is acknowledged, so every record it reports is on the input topic; a second exits at once.
 */
async function runDlq(args: Args, config: SluiceConfig, log: Logger): Promise<number> {
  const filter = { reasons: new Set(args.reasons), sinceMs: args.since === undefined ? undefined : parseSince(args.since, Date.now()) };
  const client = await openClient(config, log);
  let stopRequested = false;
  const onStop = (sig: NodeJS.Signals) => {
    if (stopRequested) process.exit(128 + (constants.signals[sig] ?? 0));
    stopRequested = true;
    console.error(`\n${sig} received: stopping after the records in flight are acknowledged`);
  };
  // Reading is harmless to cut short: only a replay that writes waits for its requests in flight.
  const writes = args.subcommand === 'replay' && !args.dryRun;
  if (writes) {
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  }
  try {
    const io = { out: (line: string) => console.log(line), err: process.stderr, stopRequested: () => stopRequested };
    if (args.subcommand === 'inspect') await inspectDeadLetters(client, config, filter, io);
    else if ((await replayDeadLetters(client, config, filter, args.dryRun, io)).interrupted) return 130;
    return 0;
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    await client.close().catch(() => undefined);
  }
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
  const what = args.command === 'dlq' ? `dlq ${args.subcommand}` : args.command;
  if (args.config === undefined || args.config === '') return usageError(`${what} needs --config <pipeline.yaml>`);

  let log = createLogger('info');
  try {
    const config = loadConfigFile(args.config);
    // The environment wins over the file, so an operator can turn on debug logs without a redeploy.
    const env = process.env.SLUICE_LOG_LEVEL;
    const level = env === 'debug' || env === 'info' || env === 'warn' || env === 'error' ? env : undefined;
    log = createLogger(level ?? config.log.level);
    if (args.command === 'dlq') return await runDlq(args, config, log);
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
