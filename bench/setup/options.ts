// Command-line options of `npm run bench`, with the two presets: the full run (the numbers to
// quote) and `--quick` (a smoke run that finishes in a few minutes on a laptop-sized machine).
import { parseArgs } from 'node:util';
import type { SluiceConfig } from '../../src/config/schema.ts';

/** a value of `kafka.client` */
export type ClientName = SluiceConfig['kafka']['client'];

export interface BenchOptions {
  quick: boolean;
  partitions: number;
  emit: 'update' | 'final';
  /** the client of the main run; the other client drains its own copy of the backlog too */
  client: ClientName;
  /** output.partitioning of every run */
  outputPartitioning: SluiceConfig['output']['partitioning'];
  /** events pre-produced before sluice (and the ceiling) start: their drain rate is the capacity */
  backlog: number;
  /** headroom profile: steady for steadySeconds, burst for burstSeconds, steady again for afterSeconds */
  steadySeconds: number;
  burstSeconds: number;
  afterSeconds: number;
  /** overload profile: steady for overloadSteadySeconds, then burst and after as above */
  overloadSteadySeconds: number;
  burstFactor: number;
  /** the headroom profile's steady rate as a share of the maximum sustainable rate */
  headroomLoad: number;
  /** the overload profile's steady rate as a share of the maximum sustainable rate */
  load: number;
  /** a fixed maximum sustainable rate (events/s) instead of searching for it */
  rate: number | undefined;
  duplicateRatio: number;
  players: number;
  zipf: number;
  jitterMs: number;
  seed: number;
  /** pass-through processes for the ceiling; default: as many as sluice has workers */
  ceilingMembers: number | undefined;
  outDir: string;
  /** keep the run's topics and temp files (JSONL, state, logs) for inspection */
  keep: boolean;
  /** seconds of each step of the sustainable-rate search (skipped with a fixed --rate) */
  stepSeconds: number;
  /** dedupe ids for the heap-with-state measurement (bench/in-process/state-heap.ts); 0 skips it */
  stateIds: number;
}

const USAGE = `usage: npm run bench -- [--quick] [options]

  --quick               short run (100k backlog, 3s search steps; headroom 10s / 8s burst / 10s,
                        overload 5s / 8s burst / 10s)
  --partitions <n>      input partitions (default 8)
  --emit update|final   emit mode of both windows (default update)
  --client <name>       kafka.client of the main run: kafkajs (default) or platformatic;
                        the other client's capacity is measured too
  --output-partitioning key|input
                        output.partitioning of the runs (default key, sluice's default)
  --backlog <n>         events pre-produced for the capacity and ceiling drains
  --steady <s>          seconds of the headroom profile's steady phase (full 60, quick 10)
  --burst <s>           seconds of each profile's burst (full 30, quick 8)
  --after <s>           seconds of each profile's steady phase after its burst (full 60, quick 10)
  --overload-steady <s> seconds of the overload profile's steady phase (full 30, quick 5)
  --burst-factor <x>    burst rate as a multiple of the steady rate (default 3)
  --headroom-load <f>   headroom profile: steady rate as a share of the maximum sustainable
                        rate (default 0.3)
  --load <f>            overload profile: the same share (default 0.7)
  --rate <n>            a fixed maximum sustainable rate in events/s (skips the search); the
                        profiles run at --headroom-load and --load of it
  --duplicates <f>      share of records that repeat an earlier event (default 0.2)
  --players <n>         distinct players (default 10000)
  --zipf <s>            Zipf exponent of the player skew (default 1.0)
  --jitter <ms>         event time = now - random 0..jitter (default 2000)
  --seed <n>            load generator seed (default 1)
  --ceiling-members <n> pass-through processes for the ceiling (default: sluice's worker count)
  --out <dir>           where the JSON and SVG go (default bench/results)
  --step <s>            seconds per step of the sustainable-rate search (full 10, quick 3)
  --state-ids <n>       dedupe ids for the heap-with-state check (full 5000000, quick 500000; 0 skips)
  --keep                keep topics, state, logs and the JSONL of produced records`;

function num(value: string | undefined, name: string, fallback: number, check: (n: number) => boolean = (n) => n > 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new Error(`--${name}: invalid value ${JSON.stringify(value)}\n\n${USAGE}`);
  return n;
}

export function parseOptions(argv: string[], defaultOutDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      partitions: { type: 'string' },
      emit: { type: 'string' },
      client: { type: 'string' },
      'output-partitioning': { type: 'string' },
      backlog: { type: 'string' },
      steady: { type: 'string' },
      burst: { type: 'string' },
      after: { type: 'string' },
      'overload-steady': { type: 'string' },
      'headroom-load': { type: 'string' },
      'burst-factor': { type: 'string' },
      load: { type: 'string' },
      rate: { type: 'string' },
      duplicates: { type: 'string' },
      players: { type: 'string' },
      zipf: { type: 'string' },
      jitter: { type: 'string' },
      seed: { type: 'string' },
      'ceiling-members': { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'state-ids': { type: 'string' },
      step: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const emit = values.emit ?? 'update';
  if (emit !== 'update' && emit !== 'final') throw new Error(`--emit: expected update or final, got ${JSON.stringify(emit)}\n\n${USAGE}`);
  const client = values.client ?? 'kafkajs';
  if (client !== 'kafkajs' && client !== 'platformatic') throw new Error(`--client: expected kafkajs or platformatic, got ${JSON.stringify(client)}\n\n${USAGE}`);
  const outputPartitioning = values['output-partitioning'] ?? 'key';
  if (outputPartitioning !== 'key' && outputPartitioning !== 'input') throw new Error(`--output-partitioning: expected key or input, got ${JSON.stringify(outputPartitioning)}\n\n${USAGE}`);
  const int = (n: number) => Number.isInteger(n) && n > 0;
  return {
    quick,
    partitions: num(values.partitions, 'partitions', 8, int),
    emit,
    client,
    outputPartitioning,
    backlog: num(values.backlog, 'backlog', quick ? 100_000 : 300_000, int),
    steadySeconds: num(values.steady, 'steady', quick ? 10 : 60, int),
    burstSeconds: num(values.burst, 'burst', quick ? 8 : 30, int),
    afterSeconds: num(values.after, 'after', quick ? 10 : 60, int),
    overloadSteadySeconds: num(values['overload-steady'], 'overload-steady', quick ? 5 : 30, int),
    burstFactor: num(values['burst-factor'], 'burst-factor', 3),
    headroomLoad: num(values['headroom-load'], 'headroom-load', 0.3),
    load: num(values.load, 'load', 0.7),
    rate: values.rate === undefined ? undefined : num(values.rate, 'rate', 0),
    duplicateRatio: num(values.duplicates, 'duplicates', 0.2, (n) => n >= 0 && n < 1),
    players: num(values.players, 'players', 10_000, int),
    zipf: num(values.zipf, 'zipf', 1.0, (n) => n >= 0),
    jitterMs: num(values.jitter, 'jitter', 2000, (n) => n >= 0),
    seed: num(values.seed, 'seed', 1, Number.isInteger),
    ceilingMembers: values['ceiling-members'] === undefined ? undefined : num(values['ceiling-members'], 'ceiling-members', 1, int),
    outDir: values.out ?? defaultOutDir,
    keep: values.keep,
    stepSeconds: num(values.step, 'step', quick ? 3 : 10, int),
    stateIds: num(values['state-ids'], 'state-ids', quick ? 500_000 : 5_000_000, (n) => Number.isInteger(n) && n >= 0),
  };
}

export { USAGE };
