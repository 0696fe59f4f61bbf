// Refused credentials and failed TLS handshakes, as each client wraps them, become coded errors
// that startup does not retry; any other connection failure stays as it was (retried).
import { describe, expect, it } from 'vitest';
import { securityFailure } from '../../../src/clients/connection-errors.ts';
import type { ConnectionSecurity } from '../../../src/clients/port.ts';

const brokers = ['kafka-1:9093', 'kafka-2:9093'];
const security: ConnectionSecurity = { tls: {}, sasl: { mechanism: 'scram-sha-512', username: 'app', password: 'pw' } };
const named = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name }, extra);

describe('securityFailure', () => {
  it("finds kafkajs's SASL failure behind its retrier", () => {
    const err = named('KafkaJSNonRetriableError', 'wrapped', { originalError: named('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512') });
    const coded = securityFailure(err, brokers, security);
    expect(coded?.code).toBe('SLUICE_KAFKA_AUTH_FAILED');
    expect(coded?.message).toBe('Kafka brokers kafka-1:9093, kafka-2:9093 refused SASL authentication as "app" (scram-sha-512): SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512; check kafka.sasl');
    expect(coded?.exitCode).toBe(2);
    expect(coded?.canRetry).toBe(false);
  });

  it("finds @platformatic/kafka's failures inside its aggregated errors and causes", () => {
    const auth = named('MultipleErrors', 'Cannot connect to any broker.', { errors: [named('NetworkError', 'Connection to kafka-1:9093 failed.', { cause: named('AuthenticationError', 'SASL authentication failed.', { code: 'PLT_KFK_AUTHENTICATION' }) })] });
    expect(securityFailure(auth, brokers, security)?.code).toBe('SLUICE_KAFKA_AUTH_FAILED');
    const tls = named('MultipleErrors', 'Cannot connect to any broker.', { errors: [new Error('Connection to kafka-1:9093 failed.', { cause: Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }) })] });
    const coded = securityFailure(tls, brokers, security);
    expect(coded?.code).toBe('SLUICE_KAFKA_TLS_FAILED');
    expect(coded?.message).toBe('TLS handshake with Kafka brokers kafka-1:9093, kafka-2:9093 failed: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN); check kafka.ssl');
  });

  it('counts a wrong host name and a handshake alert as TLS failures', () => {
    expect(securityFailure(named('KafkaJSConnectionError', 'Connection error: Hostname/IP does not match', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), brokers, security)?.code).toBe('SLUICE_KAFKA_TLS_FAILED');
    expect(securityFailure(named('KafkaJSConnectionError', 'Connection error: certificate required', { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }), brokers, security)?.code).toBe('SLUICE_KAFKA_TLS_FAILED');
  });

  it('leaves unreachable brokers alone', () => {
    // @platformatic/kafka on a TLS listener without TLS: the SASL handshake's connection closes.
    const closed = named('MultipleErrors', 'Cannot connect to any broker.', { errors: [named('NetworkError', 'Connection to kafka-1:9093 failed.', { code: 'PLT_KFK_NETWORK', cause: named('AuthenticationError', 'Cannot find a suitable SASL mechanism.', { code: 'PLT_KFK_AUTHENTICATION', cause: named('NetworkError', 'Connection closed', { code: 'PLT_KFK_NETWORK' }) }) })] });
    expect(securityFailure(closed, brokers, security)).toBeUndefined();
    expect(securityFailure(named('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED', { code: 'ECONNREFUSED' }), brokers, security)).toBeUndefined();
    // kafkajs wraps a connection the broker closed, or a request timing out, during the login as a SASL failure.
    expect(securityFailure(named('KafkaJSNonRetriableError', 'wrapped', { originalError: named('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed: Closed connection') }), brokers, security)).toBeUndefined();
    expect(securityFailure(named('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: Request SaslAuthenticate(key: 36, version: 1) timed out'), brokers, security)).toBeUndefined();
    expect(securityFailure(named('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed: Authentication failed: Invalid username or password'), brokers, security)?.code).toBe('SLUICE_KAFKA_AUTH_FAILED');
    expect(securityFailure(named('KafkaJSNumberOfRetriesExceeded', 'retries', { originalError: named('KafkaJSConnectionError', 'Connection timeout') }), brokers, undefined)).toBeUndefined();
  });
});
