// Backpressure for one consumer (one worker): counts the bytes each lane holds (its fetched batch
// until committed, plus the output of the transaction being produced until acknowledged) and
// pauses intake when the sum passes the bound, so that a burst waits on the broker, not on the
// heap. Pausing is per partition (the client stops fetching it; the batch in hand still finishes).
//
// Policy: above maxInFlightBytes, pause every lane of this consumer; once the total is at most
// resumeBelowBytes, resume them all. Pausing only the largest holders is not enough: an idle lane
// would still fetch and add its batch after the bound was passed. The gap between the two marks
// keeps intake from flapping on every batch. A lane holds at most one fetched batch (either client hands
// it the next only after this one) and one transaction's output, and one fetch response can carry
// a batch for every partition, so the bound is soft by one fetch response plus one transaction's
// output per lane (test/integration/backpressure-burst.test.ts measures both).
export interface InFlightBounds {
  maxInFlightBytes: number;
  resumeBelowBytes: number;
}

export interface IntakeControl<Id> {
  pause(ids: Id[]): void;
  resume(ids: Id[]): void;
}

export class InFlightLimiter<Id> {
  private readonly bounds: InFlightBounds;
  private readonly intake: IntakeControl<Id>;
  private readonly lanes = new Set<Id>();
  private readonly held = new Map<Id, number>();
  private readonly paused = new Set<Id>();
  private totalBytes = 0;

  constructor(bounds: InFlightBounds, intake: IntakeControl<Id>) {
    this.bounds = bounds;
    this.intake = intake;
  }

  get total(): number {
    return this.totalBytes;
  }

  get pausedCount(): number {
    return this.paused.size;
  }

  isPaused(id: Id): boolean {
    return this.paused.has(id);
  }

  /** A lane that opened: paused along with the others while the bound is exceeded. */
  register(id: Id): void {
    this.lanes.add(id);
    if (this.paused.size > 0) {
      this.paused.add(id);
      this.intake.pause([id]);
    }
  }

  add(id: Id, bytes: number): void {
    this.held.set(id, (this.held.get(id) ?? 0) + bytes);
    this.totalBytes += bytes;
    if (this.totalBytes > this.bounds.maxInFlightBytes) this.pauseAll();
  }

  release(id: Id, bytes: number): void {
    // Never more than the lane holds: a lane closed mid-batch was already released by forget(),
    // and its batch's own release comes after.
    const held = this.held.get(id) ?? 0;
    const released = Math.min(bytes, held);
    if (held - released > 0) this.held.set(id, held - released);
    else this.held.delete(id);
    this.totalBytes -= released;
    if (this.paused.size > 0 && this.totalBytes <= this.bounds.resumeBelowBytes) {
      const ids = [...this.paused];
      this.paused.clear();
      this.intake.resume(ids);
    }
  }

  /** A lane that closed holds nothing any more, and must not stay paused for its next owner. */
  forget(id: Id): void {
    const bytes = this.held.get(id);
    if (bytes !== undefined) this.release(id, bytes);
    this.lanes.delete(id);
    if (this.paused.delete(id)) this.intake.resume([id]);
  }

  private pauseAll(): void {
    const toPause: Id[] = [];
    for (const id of this.lanes) if (!this.paused.has(id)) toPause.push(id);
    for (const id of this.held.keys()) if (!this.paused.has(id) && !this.lanes.has(id)) toPause.push(id);
    if (toPause.length === 0) return;
    for (const id of toPause) this.paused.add(id);
    this.intake.pause(toPause);
  }
}
