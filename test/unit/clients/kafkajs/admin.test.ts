import { describe, expect, it } from 'vitest';
import { refused } from '../../../../src/clients/kafkajs/admin.ts';

// kafkajs rejects createTopics with a KafkaJSAggregateError of protocol errors (each with its
// broker error `type`), or, after retries, with an error whose originalError is the last one.
const protocol = (type: string) => Object.assign(new Error(type), { type });

describe('refused (kafkajs createTopics)', () => {
  it('spots a refusal that waiting cannot change, wrapped or not', () => {
    expect(refused(protocol('POLICY_VIOLATION'))).toBe(true);
    expect(refused(Object.assign(new Error('aggregate'), { errors: [protocol('TOPIC_ALREADY_EXISTS'), protocol('INVALID_REPLICATION_FACTOR')] }))).toBe(true);
    expect(refused(Object.assign(new Error('retries exceeded'), { originalError: protocol('TOPIC_AUTHORIZATION_FAILED') }))).toBe(true);
  });

  it('leaves failures a retry or another creator may cure', () => {
    expect(refused(protocol('TOPIC_ALREADY_EXISTS'))).toBe(false);
    expect(refused(protocol('REQUEST_TIMED_OUT'))).toBe(false);
    expect(refused(new Error('Connection error: ECONNREFUSED'))).toBe(false);
  });
});
