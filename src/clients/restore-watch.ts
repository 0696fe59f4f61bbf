// What both partition readers do while a read (a restore, a dead-letter scan) runs: heartbeat
// (a restore keeps the application's group membership alive so), and give up on a partition that
// stays silent before reaching its end.
import { sluiceError } from '../errors.ts';
import type { PartitionReadRequest } from './port.ts';

export class RestoreWatch {
  private readonly req: PartitionReadRequest;
  private readonly stallMs: number;
  private lastProgress = Date.now();
  private lastHeartbeat = 0;

  constructor(req: PartitionReadRequest) {
    this.req = req;
    this.stallMs = req.stallTimeoutMs ?? 60_000;
  }

  progressed(): void {
    this.lastProgress = Date.now();
  }

  /** Heartbeats every 2 s; throws once nothing progressed for the stall timeout. */
  async check(): Promise<void> {
    const { req } = this;
    if (Date.now() - this.lastHeartbeat > 2000) {
      await req.heartbeat?.().catch(() => undefined);
      this.lastHeartbeat = Date.now();
    }
    if (Date.now() - this.lastProgress > this.stallMs) {
      throw sluiceError('SLUICE_KAFKA', `reading partition ${req.partition} of ${req.topic} stalled: no progress for ${Math.round(this.stallMs / 1000)}s before reaching offset ${req.untilOffset}`);
    }
  }
}
