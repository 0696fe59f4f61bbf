// At-least-once lane sink over any client's plain idempotent sends: outputs, then changelog,
// then the consumer's offset commit, so a crash anywhere in between replays and never loses.
import { sluiceError } from '../errors.ts';
import type { InputPosition, LaneSink } from '../clients/port.ts';
import type { OutRecord } from '../model/records.ts';
import { changelogEnd, chunkBatch, chunkByBytes } from './records.ts';
import type { SentBase } from './records.ts';

export type OffsetCommitter = (position: InputPosition) => Promise<void>;

/** One acks=all, idempotent produce request of the caller's client. */
export type BatchSender = (records: readonly OutRecord[]) => Promise<readonly SentBase[]>;

export class AtLeastOnceLaneSink implements LaneSink {
  private readonly send: BatchSender;
  private readonly commitOffset: OffsetCommitter;
  private readonly maxBytes: number;
  private readonly partition: number;

  constructor(send: BatchSender, commitOffset: OffsetCommitter, opts: { maxBytes: number; partition: number }) {
    this.send = send;
    this.commitOffset = commitOffset;
    this.maxBytes = opts.maxBytes;
    this.partition = opts.partition;
  }

  async open(): Promise<void> {
    // The shared producer is connected by its owner; nothing to fence without transactions.
  }

  async commit(outputs: readonly OutRecord[], changelog: readonly OutRecord[], position: InputPosition): Promise<string | undefined> {
    let end: string | undefined;
    try {
      // Outputs before the changelog: state that says "seen" must never exist for an event whose
      // output could still be missing, or the replay would drop it as a duplicate.
      for (const chunk of chunkByBytes(outputs, this.maxBytes)) await this.send(chunk);
      for (const chunk of chunkBatch([], changelog, this.maxBytes)) {
        end = changelogEnd(chunk, await this.send(chunk.records)) ?? end;
      }
      // Offsets only after every output is acknowledged: a crash in between replays, never loses.
      await this.commitOffset(position);
      return end;
    } catch (err) {
      throw sluiceError('SLUICE_KAFKA', `writing batch for partition ${this.partition} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {}
}
