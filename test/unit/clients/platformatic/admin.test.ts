import { describe, expect, it } from 'vitest';
import { onlyAlreadyExists, refusedCode } from '../../../../src/clients/platformatic/admin.ts';

// The shape @platformatic/kafka 2.12 rejects CreateTopics with: an AggregateError around one
// response error per failed request, each carrying the broker's per-topic error codes.
const failure = (...codes: number[]) =>
  Object.assign(new AggregateError([Object.assign(new Error('Received response with error'), { code: 'PLT_KFK_RESPONSE', response: { topics: codes.map((errorCode, i) => ({ name: `t${i}`, errorCode })) } })], 'Creating topics failed.'), { code: 'PLT_KFK_MULTIPLE' });

describe('onlyAlreadyExists', () => {
  it('tolerates a topic another worker created a moment before', () => {
    expect(onlyAlreadyExists(failure(36))).toBe(true);
    expect(onlyAlreadyExists(failure(0, 36))).toBe(true);
    // A retried request that timed out after the broker created the topic: wrapped once more.
    expect(onlyAlreadyExists(new AggregateError([failure(36)], 'createTopics failed 2 times'))).toBe(true);
  });

  it('lets every other failure through', () => {
    expect(onlyAlreadyExists(failure(36, 37))).toBe(false); // INVALID_PARTITIONS beside it
    expect(onlyAlreadyExists(failure(41))).toBe(false);
    expect(onlyAlreadyExists(new Error('connect ECONNREFUSED'))).toBe(false);
    expect(onlyAlreadyExists(new AggregateError([], 'empty'))).toBe(false);
  });
});

describe('refusedCode', () => {
  it('names a refusal that waiting cannot change, however deeply the library wrapped it', () => {
    expect(refusedCode(failure(29))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(refusedCode(new AggregateError([failure(36, 38)], 'createTopics failed 2 times'))).toBe('INVALID_REPLICATION_FACTOR');
  });

  it('says nothing of topics that exist, or of failures a retry may cure', () => {
    expect(refusedCode(failure(36))).toBeUndefined();
    expect(refusedCode(failure(7))).toBeUndefined(); // REQUEST_TIMED_OUT
    expect(refusedCode(new Error('connect ECONNREFUSED'))).toBeUndefined();
  });
});
