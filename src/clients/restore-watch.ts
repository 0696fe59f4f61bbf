// What both changelog readers do while a restore runs: keep the application's group membership
// alive, and give up on a changelog that stays silent before reaching its end.
import { sluiceError } from '../errors.ts';
import type { RestoreRequest } from './port.ts';

export class RestoreWatch {
  private readonly req: RestoreRequest;
  private readonly stallMs: number;
  private lastProgress = Date.now();
  private lastHeartbeat = 0;

  constructor(req: RestoreRequest) {
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
      await req.heartbeat().catch(() => undefined);
      this.lastHeartbeat = Date.now();
    }
    if (Date.now() - this.lastProgress > this.stallMs) {
      throw sluiceError('SLUICE_KAFKA', `restoring partition ${req.partition} from ${req.topic} stalled: no progress for ${Math.round(this.stallMs / 1000)}s before reaching offset ${req.untilOffset}`);
    }
  }
}
