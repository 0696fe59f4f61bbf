// A kafkajs idempotent producer whose send fails after the broker wrote it: the answers to a
// produce request are lost on the way back (as when a broker shuts down between writing and
// answering), so kafkajs gives up on the send and takes its sequence numbers back. The next batch
// on that producer then carries the same numbers, and the real broker drops it as a duplicate of
// the written one while answering success. kafkajsSharedSender (src/clients/serial-sender.ts)
// sends it on a new producer.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Kafka, logLevel } from '../../src/clients/kafkajs/loader.ts';
import { kafkajsSharedSender } from '../../src/clients/kafkajs/sink.ts';
import { brokers, createTopics, readAllCommitted, uniqueName } from '../helpers/kafka.ts';

const PRODUCE = 0;

/** A kafkajs client whose connections lose the answers to the next `drop` produce requests, closing as they do. */
function lossyKafka() {
  const state = { drop: 0 };
  const socketFactory = ({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }): Socket => {
    const socket = connect({ host, port }, onConnect);
    const doomed = new Set<number>();
    const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    // kafkajs writes one request per call: size, api key, api version, correlation id.
    socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
      if (chunk.length >= 12 && chunk.readInt16BE(4) === PRODUCE && state.drop > 0) {
        state.drop--;
        doomed.add(chunk.readInt32BE(8));
      }
      return write(chunk, ...rest);
    }) as Socket['write'];
    const emit = socket.emit.bind(socket) as (event: string, ...args: unknown[]) => boolean;
    let pending = Buffer.alloc(0);
    socket.emit = ((event: string, ...args: unknown[]) => {
      if (event !== 'data') return emit(event, ...args);
      pending = Buffer.concat([pending, args[0] as Buffer]);
      while (pending.length >= 8 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(0, 4 + pending.readInt32BE(0));
        pending = pending.subarray(frame.length);
        if (doomed.delete(frame.readInt32BE(4))) {
          socket.destroy(new Error('answer lost'));
          return true;
        }
        emit('data', frame);
      }
      return true;
    }) as Socket['emit'];
    return socket;
  };
  const kafka = new Kafka({ clientId: 'sluice-lossy', brokers: brokers(), logLevel: logLevel.NOTHING, socketFactory: socketFactory as never });
  // One retry: the send gives up after two lost answers, both to requests the broker wrote.
  const create = (): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 50 } });
  return { state, create };
}

const value = (name: string) => [{ topic: '', partition: 0, key: name, value: name }];

async function sendAfterLostAnswers(send: (names: string) => Promise<unknown>, state: { drop: number }) {
  await send('warm-up');
  state.drop = 2;
  await expect(send('written-but-failed')).rejects.toThrow();
  await send('next');
}

describe('a kafkajs idempotent producer after a send that failed but was written', () => {
  it('loses the next batch as a duplicate when the same producer sends it (the mechanism)', async () => {
    const topic = uniqueName('lossy-raw');
    await createTopics([{ topic, numPartitions: 1 }]);
    const { state, create } = lossyKafka();
    const producer = create();
    await producer.connect();
    try {
      await sendAfterLostAnswers((name) => producer.send({ topic, acks: -1, messages: [{ key: name, value: name }] }), state);
      const keys = (await readAllCommitted(topic, 2, 1000)).map((m) => m.key);
      expect(keys).toContain('written-but-failed');
      expect(keys, 'kafkajs reused the sequence number: the broker took "next" for a duplicate').not.toContain('next');
    } finally {
      await producer.disconnect();
    }
  });

  it('keeps the next batch with kafkajsSharedSender, which sends it under a new producer id', async () => {
    const topic = uniqueName('lossy-sender');
    await createTopics([{ topic, numPartitions: 1 }]);
    const { state, create } = lossyKafka();
    const sender = kafkajsSharedSender(create);
    try {
      await sendAfterLostAnswers((name) => sender.send(value(name).map((r) => ({ ...r, topic }))), state);
      const keys = (await readAllCommitted(topic, 3, 1000)).map((m) => m.key);
      expect(keys).toEqual(['warm-up', 'written-but-failed', 'next']);
    } finally {
      await sender.close();
    }
  });
});
