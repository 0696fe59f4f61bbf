// The producer behind POST /events: opened at the first request (startup does not wait for it),
// bounded in time (an answer within http.ingestTimeout, 503 past it), and replaced after a failed
// send, whose producer state no later request should inherit. A send that times out still runs;
// if the brokers acknowledge it later its events are on the topic, though the caller heard 503:
// retrying callers may duplicate those events, never lose an accepted one.
import type { OutRecord } from '../model/records.ts';
import type { RecordProducer } from '../clients/port.ts';

/** The brokers did not acknowledge in time, or refused: answered with 503. */
export class IngestUnavailable extends Error {}

export class IngestProducer {
  private producer: Promise<RecordProducer> | undefined;
  private readonly open: () => Promise<RecordProducer>;
  private readonly timeoutMs: number;
  private readonly maxPendingBytes: number;
  /** bytes of the events of sends the brokers have not answered yet, timed-out ones included */
  private pendingBytes = 0;

  /**
   * `maxPendingBytes`: past it a send is refused at once (503): while the brokers are slow or
   * away, the events waiting for them, which a timed-out send keeps, must not grow the heap.
   */
  constructor(open: () => Promise<RecordProducer>, timeoutMs: number, maxPendingBytes: number) {
    this.open = open;
    this.timeoutMs = timeoutMs;
    this.maxPendingBytes = maxPendingBytes;
  }

  /** Resolves once the brokers acknowledged every record; rejects with IngestUnavailable otherwise. */
  async send(records: readonly OutRecord[]): Promise<void> {
    if (records.length === 0) return;
    let bytes = 0;
    for (const r of records) bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.maxPendingBytes) {
      throw new IngestUnavailable(`${this.pendingBytes} bytes of events still wait for the brokers`);
    }
    this.pendingBytes += bytes;
    const producer = (this.producer ??= this.open());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IngestUnavailable(`brokers did not acknowledge within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    const sent = producer.then((p) => p.send(records));
    void sent.then(
      () => (this.pendingBytes -= bytes),
      () => (this.pendingBytes -= bytes),
    );
    try {
      await Promise.race([sent, timeout]);
    } catch (err) {
      if (err instanceof IngestUnavailable) {
        // A failure after the answer only retires the producer.
        sent.catch(() => this.retire(producer));
        throw err;
      }
      this.retire(producer);
      throw new IngestUnavailable(`brokers refused the events: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  private retire(producer: Promise<RecordProducer>): void {
    if (this.producer !== producer) return;
    this.producer = undefined;
    void producer.then((p) => p.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.close()).catch(() => undefined);
  }
}
