// SerialIdempotentSender: one send at a time on a shared idempotent producer, and a new producer
// (a new producer id) after a failed send, so a batch never follows a failed one under the same
// producer id (src/clients/serial-sender.ts says why); and kafkajs's use of it.
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkajsSharedSender } from '../../../src/clients/kafkajs/sink.ts';
import { ProducerClosedError, SerialIdempotentSender } from '../../../src/clients/serial-sender.ts';
import type { OutRecord } from '../../../src/model/records.ts';

interface Fake {
  id: number;
  batches: string[][];
  closed: boolean;
}

/** Producers whose sends wait for `gate` and fail while `failing` says so. */
function fakes(behave: { gate?: () => Promise<void>; failing?: () => boolean; openFails?: () => boolean } = {}) {
  const made: Fake[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const open = async () => {
    if (behave.openFails?.()) throw new Error('no producer id');
    const fake: Fake = { id: made.length, batches: [], closed: false };
    made.push(fake);
    return {
      send: async (records: readonly OutRecord[]) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          await behave.gate?.();
          if (behave.failing?.()) throw new Error('connection closed');
          fake.batches.push(records.map((r) => String(r.key)));
          return fake.id;
        } finally {
          inFlight--;
        }
      },
      close: async () => void (fake.closed = true),
    };
  };
  return { open, made, maxInFlight: () => maxInFlight };
}

const record = (key: string, partition?: number): OutRecord => ({ topic: 'out', partition, key, value: 'v' });

describe('SerialIdempotentSender', () => {
  it('sends one batch at a time, in call order, on one producer', async () => {
    const f = fakes({ gate: () => new Promise((r) => setTimeout(r, 5)) });
    const sender = new SerialIdempotentSender(f.open);
    await Promise.all(['a', 'b', 'c', 'd'].map((k) => sender.send([record(k)])));
    expect(f.maxInFlight()).toBe(1);
    expect(f.made.map((p) => p.batches)).toEqual([[['a'], ['b'], ['c'], ['d']]]);
    await sender.close();
    expect(f.made[0]!.closed).toBe(true);
  });

  it('sends the batch after a failed one on a new producer, and closes the failed one', async () => {
    let calls = 0;
    const f = fakes({ failing: () => calls++ === 0 });
    const sender = new SerialIdempotentSender(f.open);
    const first = sender.send([record('a')]);
    const second = sender.send([record('b')]);
    await expect(first).rejects.toThrow('connection closed');
    expect(await second).toBe(1);
    await sender.send([record('c')]);
    expect(f.made.map((p) => [p.id, p.batches, p.closed])).toEqual([
      [0, [], true],
      [1, [['b'], ['c']], false],
    ]);
    await sender.close();
  });

  it('opens again after a producer that could not be opened', async () => {
    let opens = 0;
    const f = fakes({ openFails: () => opens++ === 0 });
    const sender = new SerialIdempotentSender(f.open);
    await expect(sender.connect()).rejects.toThrow('no producer id');
    await sender.send([record('a')]);
    expect(f.made.map((p) => p.batches)).toEqual([[['a']]]);
    await sender.close();
  });

  it('refuses sends once closed, opening nothing', async () => {
    const f = fakes();
    const sender = new SerialIdempotentSender(f.open);
    await sender.send([record('a')]);
    await sender.close();
    await expect(sender.send([record('b')])).rejects.toBeInstanceOf(ProducerClosedError);
    expect(f.made).toHaveLength(1);
  });
});

describe('kafkajsSharedSender', () => {
  function kafkajsFake(answered: (partitions: number[]) => number[], connectFails = false) {
    const state = { disconnected: 0 };
    const create = (): Producer =>
      ({
        connect: async () => {
          if (connectFails) throw new Error('InitProducerId failed');
        },
        disconnect: async () => void state.disconnected++,
        sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: { partition?: number }[] }[] }) => {
          const partitions = [...new Set(topicMessages.flatMap((t) => t.messages.map((m) => m.partition ?? 0)))];
          return answered(partitions).map((partition) => ({ topicName: 'out', partition, errorCode: 0, baseOffset: '0' }));
        },
      }) as unknown as Producer;
    return { create, state };
  }

  it('fails a send whose answer leaves out a partition it wrote to, rather than losing its records', async () => {
    const { create } = kafkajsFake((partitions) => partitions.filter((p) => p !== 2));
    const sender = kafkajsSharedSender(create);
    await expect(sender.send([record('a', 1), record('b', 2)])).rejects.toMatchObject({ code: 'SLUICE_KAFKA', message: expect.stringMatching(/without partition out\/2/) });
    expect(await sender.send([record('c', 1)])).toEqual([{ topic: 'out', partition: 1, baseOffset: '0' }]);
    await sender.close();
  });

  it('disconnects a producer whose connect failed', async () => {
    const { create, state } = kafkajsFake((p) => p, true);
    await expect(kafkajsSharedSender(create).connect()).rejects.toThrow('InitProducerId failed');
    expect(state.disconnected).toBe(1);
  });
});
