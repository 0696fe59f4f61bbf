// The messages between the bench (parent) and its load generator (a child process, over IPC).
// The generator runs in its own process so producing at a precise rate never competes with the
// parent's scraping and bookkeeping on one event loop.
import type { LoadModelOptions } from './model.ts';

export interface LoadInit extends LoadModelOptions {
  cmd: 'init';
  brokers: string;
  /** the sluice input topic: every record sent to it is also appended to `jsonl` */
  topic: string;
  jsonl: string;
}

export interface ProfilePhase {
  name: string;
  /** events per second */
  rate: number;
  seconds: number;
}

export type LoadCommand =
  | LoadInit
  /**
   * As fast as possible, the same records to every topic (the first is the sluice input), each
   * topic's in one transaction left open: read_committed consumers see none of it until
   * `release` commits it, so a consumer can start, settle its group, then find a whole backlog.
   */
  | { cmd: 'backlog'; count: number; topics: string[] }
  | { cmd: 'release'; topic: string }
  | { cmd: 'profile'; phases: ProfilePhase[] }
  | { cmd: 'flush' }
  | { cmd: 'close' };

export type LoadReport =
  | { type: 'ready' }
  | { type: 'backlog-done'; produced: number; ms: number; perPartition: number[] }
  | { type: 'released'; topic: string; targets: number[] }
  | { type: 'phase'; name: string; startMs: number }
  /** records acknowledged in second `second` (0-based) of phase `phase`, which ended at `endMs` */
  | { type: 'tick'; phase: string; second: number; endMs: number; produced: number }
  | { type: 'profile-done'; endMs: number; phases: PhaseResult[]; targets: number[] }
  | { type: 'flush-done'; produced: number; targets: number[] }
  /** `ends`: each partition's end offset of the sluice input, as the generator counted it */
  | { type: 'closed'; perPartition: number[]; ends: number[]; generated: number; duplicates: number }
  | { type: 'error'; message: string };

/**
 * `targets[p]`: the offset a consumer of the sluice input commits once it has consumed all of
 * partition p so far (its last data record's offset + 1; a transaction marker may follow it).
 */
export interface PhaseResult {
  name: string;
  targetRate: number;
  startMs: number;
  endMs: number;
  produced: number;
  actualRate: number;
  /** the most events the generator was ever behind its schedule (it sends them in the next batch) */
  maxBehind: number;
}
