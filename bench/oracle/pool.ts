// Runs the oracle over the produced log on worker threads (worker.ts), one group of
// partitions per core, and merges what they expect. Runs while the output topic is being read.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OracleConfig } from '../../test/helpers/oracle.ts';
import type { OracleJob, OracleSummary } from './worker.ts';

export type { OracleSummary };

function runJob(job: OracleJob): Promise<OracleSummary> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: job });
    worker.once('message', (msg: { ok: true; summary: OracleSummary } | { ok: false; message: string }) => {
      if (msg.ok) resolve(msg.summary);
      else reject(new Error(`oracle: ${msg.message}`));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export async function runOracleParallel(jsonl: string, partitions: number, cfg: OracleConfig, cross: boolean): Promise<OracleSummary & { seconds: number }> {
  const started = Date.now();
  const threads = cross ? 1 : Math.max(1, Math.min(partitions, availableParallelism()));
  const groups = Array.from({ length: threads }, (_, i) => Array.from({ length: partitions }, (_, p) => p).filter((p) => p % threads === i));
  const parts = await Promise.all(groups.map((only) => runJob({ jsonl, partitions, only, cfg, cross })));
  const merged: OracleSummary = { finals: new Map(), duplicates: 0, deadLetters: 0, accepted: 0, records: 0, ends: parts[0]?.ends ?? [] };
  for (const part of parts) {
    for (const [key, value] of part.finals) merged.finals.set(key, value);
    merged.duplicates += part.duplicates;
    merged.deadLetters += part.deadLetters;
    merged.accepted += part.accepted;
    merged.records += part.records;
  }
  return { ...merged, seconds: (Date.now() - started) / 1000 };
}
