// What the load generator sends: treasure-hunt player actions with Zipf-skewed players, upstream
// retries (a duplicate is an earlier event's exact JSON, sent again), and event times jittered
// into the past. Pure and seeded: the same options give the same sequence of events.
import { mulberry32, partitionFor, playerOnPartition } from '../../test/helpers/event-stream.ts';

export interface LoadModelOptions {
  partitions: number;
  players: number;
  /** Zipf exponent: player rank k is drawn with weight 1 / k^zipf */
  zipf: number;
  duplicateRatio: number;
  /** event time = now - random 0..jitterMs */
  jitterMs: number;
  seed: number;
}

export interface LoadRecord {
  partition: number;
  key: string;
  value: string;
}

const ACTIONS = ['dig', 'trade', 'find'] as const;
/** how many recent originals a duplicate may repeat */
const RECENT = 1024;
/**
 * A retry repeats something sent moments ago; an older original could be late for every window
 * after a pause between phases, and a late record is a dead letter, not a duplicate.
 */
const MAX_RETRY_AGE_MS = 5_000;

export class LoadModel {
  private readonly opts: LoadModelOptions;
  private readonly rand: () => number;
  private readonly cdf: Float64Array;
  private readonly names: string[];
  private readonly partitionOf: Int32Array;
  private readonly recent: { record: LoadRecord; ts: number }[] = [];
  private recentNext = 0;
  private seq = 0;
  /** the largest event time generated so far */
  maxTs = Number.NEGATIVE_INFINITY;
  generated = 0;
  duplicates = 0;

  constructor(opts: LoadModelOptions) {
    this.opts = opts;
    this.rand = mulberry32(opts.seed);
    this.cdf = new Float64Array(opts.players);
    let total = 0;
    for (let k = 0; k < opts.players; k++) this.cdf[k] = total += 1 / Math.pow(k + 1, opts.zipf);
    for (let k = 0; k < opts.players; k++) this.cdf[k] = this.cdf[k]! / total;
    this.names = Array.from({ length: opts.players }, (_, k) => `player-${k}`);
    this.partitionOf = Int32Array.from(this.names, (n) => partitionFor(n, opts.partitions));
  }

  /** A player index by Zipf rank: binary search of the precomputed CDF. */
  private player(): number {
    const u = this.rand();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  next(nowMs: number): LoadRecord {
    this.generated++;
    if (this.recent.length > 0 && this.rand() < this.opts.duplicateRatio) {
      const original = this.recent[Math.floor(this.rand() * this.recent.length)]!;
      if (nowMs - original.ts <= MAX_RETRY_AGE_MS) {
        this.duplicates++;
        return original.record;
      }
    }
    const k = this.player();
    const ts = nowMs - Math.floor(this.rand() * (this.opts.jitterMs + 1));
    const event = {
      eventId: `e${this.seq++}`,
      playerId: this.names[k]!,
      action: ACTIONS[Math.floor(this.rand() * ACTIONS.length)]!,
      points: Math.floor(this.rand() * 51),
      score: Math.floor(this.rand() * 1000),
      ts,
    };
    const record = { partition: this.partitionOf[k]!, key: event.playerId, value: JSON.stringify(event) };
    this.remember(record, ts);
    if (ts > this.maxTs) this.maxTs = ts;
    return record;
  }

  private remember(record: LoadRecord, ts: number): void {
    if (this.recent.length < RECENT) this.recent.push({ record, ts });
    else this.recent[this.recentNext] = { record, ts };
    this.recentNext = (this.recentNext + 1) % RECENT;
  }

  /**
   * One event per partition an hour past everything sent, so stream time passes every window's
   * end + grace and every window closes with its final record.
   */
  flush(): LoadRecord[] {
    const ts = (Number.isFinite(this.maxTs) ? this.maxTs : Date.now()) + 3_600_000;
    return Array.from({ length: this.opts.partitions }, (_, p) => {
      const playerId = playerOnPartition(p, this.opts.partitions);
      const event = { eventId: `flush-${p}`, playerId, action: 'dig', points: 0, score: 0, ts };
      return { partition: p, key: playerId, value: JSON.stringify(event) };
    });
  }
}
