// `sluice dlq inspect` and `sluice dlq replay`: what is in the dead-letter topic, and putting the
// originals back on the input topic once their cause is fixed. Both read the dead-letter topic
// through the configured client's port (src/entry/dlq-scan.ts); see docs/dead-letters.md.
import type { SluiceConfig } from '../config/schema.ts';
import { parseDuration } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';
import { outHeaderValue } from '../model/records.ts';
import type { InputHeaders, OutHeaders, OutRecord } from '../model/records.ts';
import { parseEventTime } from '../processors/decode.ts';
import type { RecordProducer, StreamClient } from '../clients/port.ts';
import { partitionsOf, scanDeadLetters } from './dlq-scan.ts';
import type { DeadLetter, DeadLetterFilter } from './dlq-scan.ts';
import { ProgressReporter } from './progress.ts';
import type { ProgressOutput } from './progress.ts';

/** Samples printed per reason by inspect and by a dry run. */
const SAMPLES = 3;
/** Records per produce request of a replay: small enough to stop soon when interrupted. */
const REPLAY_CHUNK_RECORDS = 500;
const REPLAY_CHUNK_BYTES = 512 * 1024;
const SLUICE_HEADER_PREFIX = 'sluice.';

export interface DlqIo {
  /** the report */
  out: (line: string) => void;
  /** progress */
  err: ProgressOutput;
  /** set once the user asked to stop (SIGINT, SIGTERM) */
  stopRequested: () => boolean;
}

/** `--since`: an ISO-8601 time with a zone (or a date, UTC) or a duration back from `nowMs`. */
export function parseSince(text: string, nowMs: number): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return nowMs - ago;
  const at = parseEventTime(text);
  if (!Number.isNaN(at)) return at;
  throw sluiceError('SLUICE_ARGUMENT_INVALID', `--since ${JSON.stringify(text)} is neither an ISO-8601 time with a zone (2026-11-29T12:00:00Z) nor a duration (90m, 2h, 7d)`);
}

function preview(b: Buffer | null, max = 200): string {
  if (b === null) return '(null)';
  const text = b.toString('utf8');
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

class ReasonTally {
  readonly counts = new Map<string, { count: number; stage: string | undefined; samples: DeadLetter[] }>();

  add(dl: DeadLetter): void {
    let entry = this.counts.get(dl.reason);
    if (entry === undefined) this.counts.set(dl.reason, (entry = { count: 0, stage: dl.stage, samples: [] }));
    entry.count++;
    if (entry.samples.length < SAMPLES) entry.samples.push(dl);
  }

  print(out: (line: string) => void): void {
    const sorted = [...this.counts].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
    for (const [reason, { count, stage }] of sorted) out(`  ${reason.padEnd(20)} ${String(count).padStart(9)}   stage ${stage ?? '?'}`);
    for (const [reason, { samples }] of sorted) {
      out('');
      out(`${reason}: first ${samples.length}`);
      for (const dl of samples) {
        const from = `${dl.origin.topic ?? '?'}/${dl.origin.partition ?? '?'}@${dl.origin.offset ?? '?'}`;
        out(`  dlq ${dl.partition}@${dl.offset} from ${from} at ${new Date(dl.timestamp).toISOString()}${dl.field === undefined ? '' : ` field ${dl.field}`}`);
        if (dl.detail !== undefined) out(`    ${dl.detail}`);
        out(`    key ${preview(dl.key)} value ${preview(dl.value)}`);
      }
    }
  }
}

function describeFilter(filter: DeadLetterFilter): string {
  const parts = [];
  if (filter.reasons.size > 0) parts.push(`reason ${[...filter.reasons].join(' or ')}`);
  if (filter.sinceMs !== undefined) parts.push(`dead-lettered since ${new Date(filter.sinceMs).toISOString()}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

export async function inspectDeadLetters(client: StreamClient, config: SluiceConfig, filter: DeadLetterFilter, io: DlqIo): Promise<void> {
  const topic = config.deadLetter.topic;
  const tally = new ReasonTally();
  const progress = new ProgressReporter(io.err, `reading ${topic}`);
  let selected = 0;
  const read = await scanDeadLetters(client, topic, filter, (dl) => {
    selected++;
    tally.add(dl);
  }, (p) => progress.update(p.done, p.total, `${selected} selected`));
  progress.finish();
  io.out(`${topic}: ${read} dead letters, ${selected} selected${describeFilter(filter)}`);
  tally.print(io.out);
}

/** The original record, to go back to `input`: sluice's own headers removed, its timestamp and partition kept. */
export function replayRecord(dl: DeadLetter, input: string, inputPartitions: number): OutRecord {
  const headers: OutHeaders = {};
  const original: InputHeaders = dl.headers ?? {};
  for (const name in original) {
    const v = original[name];
    if (v !== undefined && !name.startsWith(SLUICE_HEADER_PREFIX)) headers[name] = outHeaderValue(v);
  }
  const p = dl.origin.partition;
  const record: OutRecord = { topic: input, key: dl.key, value: dl.value, headers };
  // Its own partition keeps it in the lane (and the dedupe state) that saw it first.
  if (p !== undefined && p < inputPartitions) record.partition = p;
  if (dl.origin.timestamp !== undefined && /^\d+$/.test(dl.origin.timestamp)) record.timestamp = dl.origin.timestamp;
  return record;
}

/** Thrown out of the scan to stop it at a chunk boundary. */
class ReplayStopped extends Error {}

export interface ReplayOutcome {
  replayed: number;
  /** selected, but their value was too large to keep (oversized): nothing to replay */
  skipped: number;
  interrupted: boolean;
}

export async function replayDeadLetters(client: StreamClient, config: SluiceConfig, filter: DeadLetterFilter, dryRun: boolean, io: DlqIo): Promise<ReplayOutcome> {
  const topic = config.deadLetter.topic;
  const input = config.input.topic;
  const inputPartitions = await partitionsOf(client, input, 'input');
  if (config.dedupe === undefined && !dryRun) io.out('note: this pipeline has no dedupe, so a record replayed twice is counted twice (docs/dead-letters.md)');
  const producer: RecordProducer | undefined = dryRun ? undefined : await client.producer();
  const tally = new ReasonTally();
  const outcome: ReplayOutcome = { replayed: 0, skipped: 0, interrupted: false };
  let chunk: OutRecord[] = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    await producer?.send(chunk);
    outcome.replayed += chunk.length;
    chunk = [];
    chunkBytes = 0;
    if (io.stopRequested()) throw new ReplayStopped();
  };
  const progress = new ProgressReporter(io.err, `${dryRun ? 'dry run over' : 'replaying'} ${topic}`);
  try {
    await scanDeadLetters(client, topic, filter, async (dl) => {
      if (dl.valueLeftOut) {
        outcome.skipped++;
        return;
      }
      tally.add(dl);
      chunk.push(replayRecord(dl, input, inputPartitions));
      chunkBytes += (dl.value?.length ?? 0) + (dl.key?.length ?? 0);
      if (chunk.length >= REPLAY_CHUNK_RECORDS || chunkBytes >= REPLAY_CHUNK_BYTES) await flush();
    }, (p) => {
      progress.update(p.done, p.total, `${outcome.replayed + chunk.length} ${dryRun ? 'selected' : 'replayed'}`);
      // Also between fetches of records that are not selected; the chunk in hand was not sent.
      if (io.stopRequested()) throw new ReplayStopped();
    });
    await flush();
  } catch (err) {
    if (!(err instanceof ReplayStopped)) throw err;
    outcome.interrupted = true;
  } finally {
    progress.finish();
    await producer?.close().catch(() => undefined);
  }
  const verb = dryRun ? 'would replay' : outcome.interrupted ? 'interrupted after replaying' : 'replayed';
  io.out(`${verb} ${outcome.replayed} dead letters${describeFilter(filter)} to ${input}${outcome.skipped > 0 ? `; ${outcome.skipped} skipped: their value was too large to keep, see sluice.origin.* for where it is` : ''}`);
  if (outcome.interrupted) io.out('every record counted above is acknowledged; running the same replay again re-sends them too, and only dedupe (within its ttl) drops them: see docs/dead-letters.md');
  tally.print(io.out);
  return outcome;
}
