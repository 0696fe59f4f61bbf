// KafkajsIdempotentSender: one send at a time on a shared idempotent producer, and a new producer
// (a new producer id) after a failed send, so a batch never reuses sequence numbers kafkajs took
// back from a request the broker may have written (see sink.ts).
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkajsIdempotentSender } from '../../../../src/clients/kafkajs/sink.ts';
import type { OutRecord } from '../../../../src/model/records.ts';

interface FakeProducer {
  id: number;
  batches: string[][];
  disconnected: boolean;
}

/** Producers whose sendBatch waits for `gate` and fails while `failing` says so. */
function fakes(behave: { gate?: () => Promise<void>; failing?: () => boolean } = {}) {
  const made: FakeProducer[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const create = (): Producer => {
    const fake: FakeProducer = { id: made.length, batches: [], disconnected: false };
    made.push(fake);
    return {
      connect: async () => undefined,
      disconnect: async () => void (fake.disconnected = true),
      sendBatch: async ({ topicMessages }: { topicMessages: { messages: { key: string }[] }[] }) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          await behave.gate?.();
          if (behave.failing?.()) throw new Error('connection closed');
          fake.batches.push(topicMessages.flatMap((t) => t.messages.map((m) => String(m.key))));
          return topicMessages.map(() => ({ topicName: 'out', partition: 0, errorCode: 0, baseOffset: '0' }));
        } finally {
          inFlight--;
        }
      },
    } as unknown as Producer;
  };
  return { create, made, maxInFlight: () => maxInFlight };
}

const record = (key: string): OutRecord => ({ topic: 'out', partition: 0, key, value: 'v' });

describe('KafkajsIdempotentSender', () => {
  it('sends one batch at a time, in call order, on one producer', async () => {
    const f = fakes({ gate: () => new Promise((r) => setTimeout(r, 5)) });
    const sender = new KafkajsIdempotentSender(f.create);
    await Promise.all(['a', 'b', 'c', 'd'].map((k) => sender.send([record(k)])));
    expect(f.maxInFlight()).toBe(1);
    expect(f.made.map((p) => p.batches)).toEqual([[['a'], ['b'], ['c'], ['d']]]);
    await sender.close();
    expect(f.made[0]!.disconnected).toBe(true);
  });

  it('sends the batch after a failed one on a new producer, and disconnects the failed one', async () => {
    let calls = 0;
    const f = fakes({ failing: () => calls++ === 0 });
    const sender = new KafkajsIdempotentSender(f.create);
    const first = sender.send([record('a')]);
    const second = sender.send([record('b')]);
    await expect(first).rejects.toThrow('connection closed');
    await second;
    await sender.send([record('c')]);
    expect(f.made.map((p) => [p.id, p.batches, p.disconnected])).toEqual([
      [0, [], true],
      [1, [['b'], ['c']], false],
    ]);
    await sender.close();
  });
});
