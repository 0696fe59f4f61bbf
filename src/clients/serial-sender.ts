// An idempotent producer shared by several callers (the at-least-once lanes, POST /events, the
// owners announcer), made safe for sharing on either client: one send at a time, and a fresh
// producer (a new producer id) after any failed send.
//
// Why: an idempotent batch is numbered per partition, and the broker drops a batch whose numbers
// it has seen as a duplicate while answering it as a success. kafkajs takes a failed send's
// numbers back; when the broker had written that send after all (it went down between writing
// and answering), the next batch under that producer id gets the same numbers and is lost (CI's
// POST /events test through a broker restart lost 34, then 88, accepted events of one request;
// test/integration/kafkajs-idempotent-sender.test.ts reproduces it). @platformatic/kafka resets
// its numbers after a failure, but a send that read the producer id before the failure numbers
// its batch afterwards from zero, with the same effect. Sends that never overlap, and a new
// producer id after a failure, start every batch where the broker expects it.
import type { OutRecord } from '../model/records.ts';

/** One producer, opened and connected: its send, and its close. */
export interface OpenedProducer<R> {
  send(records: readonly OutRecord[]): Promise<R>;
  close(): Promise<void>;
}

export class ProducerClosedError extends Error {}

export class SerialIdempotentSender<R> {
  private readonly open: () => Promise<OpenedProducer<R>>;
  private producer: Promise<OpenedProducer<R>> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** `open` connects a new producer; one that fails to connect must release what it opened. */
  constructor(open: () => Promise<OpenedProducer<R>>) {
    this.open = open;
  }

  readonly send = (records: readonly OutRecord[]): Promise<R> => {
    if (this.closed) return Promise.reject(new ProducerClosedError('send after close'));
    const run = this.queue.then(() => this.sendNow(records));
    this.queue = run.catch(() => undefined);
    return run;
  };

  private async sendNow(records: readonly OutRecord[]): Promise<R> {
    if (this.closed) throw new ProducerClosedError('send after close');
    const opened = (this.producer ??= this.open());
    try {
      return await (await opened).send(records);
    } catch (err) {
      if (this.producer === opened) this.producer = undefined;
      void opened.then((p) => p.close()).catch(() => undefined);
      throw err;
    }
  }

  /** Connects now, so that a broker that cannot be reached fails the caller's startup. */
  async connect(): Promise<void> {
    const opened = (this.producer ??= this.open());
    try {
      await opened;
    } catch (err) {
      if (this.producer === opened) this.producer = undefined;
      throw err;
    }
  }

  /** Waits for the sends in flight, then closes the producer; later sends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const last = this.producer;
    this.producer = undefined;
    await last?.then((p) => p.close()).catch(() => undefined);
  }
}
