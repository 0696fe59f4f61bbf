// How big a lane's next transaction is. A transaction has a fixed cost (a produce round trip,
// sendOffsets, the commit and its markers, an LMDB commit) and a cost per record; big
// transactions amortize the first, small ones keep the wait of each record short. Which matters
// depends on the lag, so the size follows it:
//
//   r      = EWMA of wall milliseconds per record, processing + commit, measured per transaction
//            (wall, not CPU: it includes the other lanes sharing the thread, which is the delay
//            a record actually sees)
//   drain  = backlog × r, the time to work off what is waiting (fetched + still on the broker)
//
//   drain > targetLatencyMs  → behind: latency is lost to queueing anyway, so throughput is what
//                              brings it back. Take min(backlog, maxRecords) and allow
//                              maxIntervalMs of processing per transaction.
//   otherwise                → caught up: cap a transaction at what fits in half the latency
//                              target (the other half is fetch wait and queueing), i.e.
//                              targetLatencyMs / 2 / r records, with a processing deadline of
//                              targetLatencyMs / 2.
//
// r falls as transactions grow (the fixed cost is shared by more records), so the caught-up cap
// grows on its own until the target binds. With no lag a transaction is simply what the fetch
// returned: the controller never waits for records to accumulate. maxBytes bounds every
// transaction in both modes (kafkajs does not split produce requests).
export interface BatchingBounds {
  maxRecords: number;
  maxBytes: number;
  targetLatencyMs: number;
  maxIntervalMs: number;
}

export type BatchMode = 'catch-up' | 'latency';

export interface ChunkPlan {
  mode: BatchMode;
  maxRecords: number;
  /** milliseconds of processing after which the chunk is cut short and committed */
  deadlineMs: number;
}

/** weight of the newest transaction in the per-record cost: ~10 transactions of memory */
const ALPHA = 0.2;
/** the first estimate, before any transaction was measured: pessimistic, so a fresh lane starts small */
const INITIAL_MS_PER_RECORD = 0.5;

export class BatchController {
  private readonly bounds: BatchingBounds;
  private msPerRecord = INITIAL_MS_PER_RECORD;

  constructor(bounds: BatchingBounds) {
    this.bounds = bounds;
  }

  /** `backlog`: records waiting for this lane, the fetched ones included. */
  plan(backlog: number): ChunkPlan {
    const b = this.bounds;
    if (backlog * this.msPerRecord > b.targetLatencyMs) return { mode: 'catch-up', maxRecords: b.maxRecords, deadlineMs: b.maxIntervalMs };
    const half = b.targetLatencyMs / 2;
    const fit = Math.max(1, Math.floor(half / this.msPerRecord));
    return { mode: 'latency', maxRecords: Math.min(b.maxRecords, fit), deadlineMs: Math.min(half, b.maxIntervalMs) };
  }

  /** Feeds back one committed transaction: its record count and wall milliseconds. */
  observe(records: number, wallMs: number): void {
    if (records <= 0 || !(wallMs >= 0)) return;
    this.msPerRecord += ALPHA * (wallMs / records - this.msPerRecord);
  }

  /** the current estimate, for metrics */
  get costPerRecordMs(): number {
    return this.msPerRecord;
  }
}
