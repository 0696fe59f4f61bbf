// A consumer that cannot make progress must stop the process, not sit silent: kafkajs's crash of
// its consumer, and a batch @platformatic/kafka's fetch cannot decode, with fakes for the clients
// (no broker accepts a batch that cannot be decoded, so no broker test can provoke one).
import { createRequire } from 'node:module';
import type { Consumer } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../../../src/errors.ts';
import { findUnreadable, kafkajsCrashVerdict, unreadableBatch } from '../../../src/clients/fatal.ts';
import { KafkajsStreamClient } from '../../../src/clients/kafkajs/client.ts';
import { PartitionFetcher } from '../../../src/clients/platformatic/fetch.ts';
import type { GroupHandlers } from '../../../src/clients/port.ts';
import { createLogger } from '../../../src/log.ts';

const require = createRequire(import.meta.url);
type Retrier = (fn: (bail: (e: Error) => void) => Promise<unknown>) => Promise<unknown>;
const createRetry = require('kafkajs/src/retry/index.js') as (opts: object) => Retrier;
const silent = createLogger('error', 'sluice', () => undefined);

/** How kafkajs's consumer loop sees an error thrown while decoding a fetch response. */
async function asKafkajsCrash(thrown: Error): Promise<Error> {
  const retrier = createRetry({ retries: 2, initialRetryTime: 1, maxRetryTime: 5, factor: 0, multiplier: 1 });
  return (await retrier(async () => {
    throw thrown;
  }).then(
    () => new Error('no crash'),
    (err: unknown) => err,
  )) as Error;
}

describe('kafkajsCrashVerdict', () => {
  it('makes an unreadable batch fatal, through kafkajs\'s own wrapping, without a retry', async () => {
    const crash = await asKafkajsCrash(unreadableBatch('lz4', new Error('WrongMagicNumber')));
    expect(crash.name).toBe('KafkaJSNonRetriableError');
    const verdict = kafkajsCrashVerdict(crash, false, ['in']);
    expect(verdict?.code).toBe('SLUICE_INPUT_UNREADABLE');
    expect(verdict?.message).toBe('consuming in stopped: a lz4-compressed record batch cannot be decompressed: WrongMagicNumber');
  });

  it('makes a crash kafkajs will not restart from fatal, and one it restarts from not', async () => {
    const gone = kafkajsCrashVerdict(new Error('broker went away'), false, ['in']);
    expect(gone).toMatchObject({ code: 'SLUICE_KAFKA', canRetry: false });
    expect(kafkajsCrashVerdict(new Error('coordinator not available'), true, ['in'])).toBeUndefined();
  });
});

describe('the kafkajs group', () => {
  it('hands a consumer crash on an unreadable batch to onFatal', async () => {
    const listeners = new Map<string, (e: unknown) => void>();
    const consumer = {
      events: { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' },
      on: (name: string, fn: (e: unknown) => void) => listeners.set(name, fn),
      connect: async () => undefined,
      subscribe: async () => undefined,
      run: async () => undefined,
    };
    const client = new KafkajsStreamClient({ brokers: ['127.0.0.1:1'], clientId: 't', guarantee: 'exactly-once', log: silent }, 'g');
    Object.assign(client, { kafka: { consumer: () => consumer } });
    const fatal: SluiceError[] = [];
    const handlers: GroupHandlers = { onAssigned: () => undefined, onBatch: async () => undefined, onFatal: (e) => fatal.push(e) };
    await client.group({ groupId: 'g', topics: ['in'], maxBytesPerPartition: 1024, sessionTimeoutMs: 6000 }).start(handlers);

    listeners.get('consumer.crash')!({ payload: { error: new Error('coordinator moved'), restart: true, groupId: 'g' } });
    expect(fatal).toEqual([]);
    const crash = await asKafkajsCrash(unreadableBatch('zstd', new Error('Unknown frame descriptor')));
    listeners.get('consumer.crash')!({ payload: { error: crash, restart: false, groupId: 'g' } });
    expect(fatal.map((e) => e.code)).toEqual(['SLUICE_INPUT_UNREADABLE']);
  });
});

describe('the @platformatic/kafka fetch', () => {
  /** A leader for partitions 0 and 1 of `in`; partition 0 holds a batch that cannot be decompressed. */
  function fakeConsumer(requests: number[][]): Consumer {
    return {
      metadata: async () => ({ topics: new Map([['in', { id: 'in-id', partitions: [{ leader: 1 }, { leader: 1 }] }]]) }),
      fetch: async (req: { topics: { topicId: string; partitions: { partition: number; fetchOffset: bigint }[] }[] }) => {
        const partitions = req.topics[0]!.partitions.map((p) => p.partition);
        requests.push(partitions);
        // As the library reports it: the parse error of the whole response, wrapped.
        if (partitions.includes(0)) throw Object.assign(new Error('Fetch failed'), { errors: [unreadableBatch('snappy', new Error('corrupt input'))] });
        return { errorCode: 0, responses: [{ topicId: 'in-id', partitions: partitions.map((p) => ({ partitionIndex: p, errorCode: 0, records: [], abortedTransactions: [], lastStableOffset: 9n })) }] };
      },
    } as unknown as Consumer;
  }

  it('names the partition that cannot be read and lets the others through', async () => {
    const requests: number[][] = [];
    const fetcher = new PartitionFetcher(fakeConsumer(requests), { maxBytesPerPartition: 1024 });
    const outcomes = await fetcher.fetch([{ topic: 'in', partition: 0, offset: 7n }, { topic: 'in', partition: 1, offset: 3n }], 10);
    expect(requests).toEqual([[0, 1], [0], [1]]);
    const bad = outcomes.get('in/0');
    expect(bad?.kind).toBe('unreadable');
    const error = (bad as { error: SluiceError }).error;
    expect(error.code).toBe('SLUICE_INPUT_UNREADABLE');
    expect(error.message).toBe('in partition 0 cannot be read at offset 7: a snappy-compressed record batch cannot be decompressed: corrupt input');
    expect(outcomes.get('in/1')).toMatchObject({ kind: 'records', records: [], next: 3n });
  });

  it('retries a fetch that failed for any other reason', async () => {
    const consumer = { metadata: async () => ({ topics: new Map([['in', { id: 'in-id', partitions: [{ leader: 1 }] }]]) }), fetch: async () => Promise.reject(new Error('socket hang up')) } as unknown as Consumer;
    const outcomes = await new PartitionFetcher(consumer, { maxBytesPerPartition: 1024 }).fetch([{ topic: 'in', partition: 0, offset: 0n }], 10);
    expect(outcomes.get('in/0')).toEqual({ kind: 'retry', reason: 'socket hang up' });
    expect(findUnreadable(new Error('socket hang up'))).toBeUndefined();
  });
});
