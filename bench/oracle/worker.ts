// A worker thread that replays the load generator's log through the oracle for some partitions.
// The oracle is deliberately naive and slow (it scans every open window when stream time moves);
// partition-local windows never span partitions, so pool.ts splits the partitions over the
// cores. Cross-partition windows need every partition in one run.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parentPort, workerData } from 'node:worker_threads';
import { runCrossPartitionOracle, runOracle } from '../../test/helpers/oracle.ts';
import type { OracleConfig, OracleOutput, OracleRecord } from '../../test/helpers/oracle.ts';

export interface OracleJob {
  jsonl: string;
  partitions: number;
  /** the partitions this worker replays; all of them when `cross` */
  only: number[];
  cfg: OracleConfig;
  cross: boolean;
}

export interface OracleSummary {
  /** output key -> the final record the oracle expects */
  finals: Map<string, OracleOutput>;
  duplicates: number;
  deadLetters: number;
  accepted: number;
  /** input records replayed */
  records: number;
  /** each partition's end offset per the log, transaction markers included (all partitions) */
  ends: number[];
}

/**
 * Offsets are implied by the order of the lines: producers with one request in flight append each
 * partition's records in the order they were logged, and a `[partition]` line stands for a
 * transaction marker's offset. Record timestamps are the broker's (LogAppendTime) and unknown
 * here, which is fine while the pipeline takes event time from a field.
 */
async function readLog(path: string, partitions: number, only: ReadonlySet<number>): Promise<{ records: OracleRecord[]; ends: number[] }> {
  const ends = new Array<number>(partitions).fill(0);
  const records: OracleRecord[] = [];
  // Line by line: a full run's log is too big to hold as one string.
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (line === '') continue;
    // The partition leads each line: other workers' lines are counted, not parsed.
    const partition = Number(line.slice(1, line.search(/[,\]]/)));
    const offset = ends[partition]!++;
    if (!only.has(partition) || !line.includes(',')) continue;
    const [, key, value] = JSON.parse(line) as [number, string, string | null];
    records.push({ partition, offset, key, value, timestampMs: 0 });
  }
  return { records, ends };
}

async function run(job: OracleJob): Promise<OracleSummary> {
  const { records, ends } = await readLog(job.jsonl, job.partitions, new Set(job.only));
  const result = job.cross ? runCrossPartitionOracle(records, job.cfg, job.partitions) : runOracle(records, job.cfg);
  let duplicates = 0;
  for (const n of result.duplicates.values()) duplicates += n;
  return { finals: result.finals, duplicates, deadLetters: result.deadLetters.size, accepted: result.accepted, records: records.length, ends };
}

if (parentPort) {
  const port = parentPort;
  run(workerData as OracleJob).then(
    (summary) => port.postMessage({ ok: true, summary }),
    (err: unknown) => port.postMessage({ ok: false, message: (err as Error).stack ?? String(err) }),
  );
}
