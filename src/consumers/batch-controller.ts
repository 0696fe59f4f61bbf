// How big a lane's next transaction is. A transaction has a fixed cost (a produce round trip,
// sendOffsets, the commit and its markers, an LMDB commit: several broker round trips) and a
// cost per record; big transactions amortize the first, small ones make the first records of a
// fetch visible sooner. Which matters depends on the lag, so the size follows it:
//
//   r      = EWMA of wall milliseconds per record, processing + commit, per transaction (wall,
//            not CPU: it includes the other lanes sharing the thread, the delay records see)
//   p      = EWMA of processing milliseconds per record (the synchronous part only)
//   drain  = backlog × r, the time to work off what is waiting (fetched + still on the broker)
//
//   drain > targetLatencyMs  → behind: latency is lost to queueing anyway, so throughput is what
//                              brings it back. Take min(backlog, maxRecords) and allow
//                              maxIntervalMs of processing per transaction.
//   otherwise                → caught up: cap a transaction at what takes half the latency target
//                              to process, targetLatencyMs / 2 / p records, with a processing
//                              deadline of targetLatencyMs / 2.
//
// The caught-up cap uses p, not r, on purpose: every record of a fetched batch is already here,
// and the consumer fetches again only once the batch is done, so cutting it into transactions
// smaller than the processing budget only adds commit round trips before its last record is
// visible. (At 10k events/s in the quick bench the two caps measured the same steady p99 within
// noise: there the commit round trips, not the cap, set the latency; see the issue note.)
// With no lag a transaction is simply what the fetch returned: the controller never waits for
// records to accumulate. maxBytes bounds every transaction in both modes (kafkajs does not split
// produce requests).
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
  private processingMsPerRecord = INITIAL_MS_PER_RECORD;

  constructor(bounds: BatchingBounds) {
    this.bounds = bounds;
  }

  /** `backlog`: records waiting for this lane, the fetched ones included. */
  plan(backlog: number): ChunkPlan {
    const b = this.bounds;
    if (backlog * this.msPerRecord > b.targetLatencyMs) return { mode: 'catch-up', maxRecords: b.maxRecords, deadlineMs: b.maxIntervalMs };
    const half = b.targetLatencyMs / 2;
    const fit = Math.max(1, Math.floor(half / this.processingMsPerRecord));
    return { mode: 'latency', maxRecords: Math.min(b.maxRecords, fit), deadlineMs: Math.min(half, b.maxIntervalMs) };
  }

  /** Feeds back one committed transaction: its record count, processing and wall milliseconds. */
  observe(records: number, processingMs: number, wallMs: number): void {
    if (records <= 0 || !(wallMs >= 0) || !(processingMs >= 0)) return;
    this.msPerRecord += ALPHA * (wallMs / records - this.msPerRecord);
    this.processingMsPerRecord += ALPHA * (processingMs / records - this.processingMsPerRecord);
  }

  /** the current wall-time estimate per record (for tests and diagnostics) */
  get costPerRecordMs(): number {
    return this.msPerRecord;
  }
}
