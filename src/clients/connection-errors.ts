// Startup failures that waiting cannot cure: brokers that refuse the SASL credentials, and TLS
// handshakes that fail verification. Both clients report them as connection failures like any
// unreachable broker, which startup would retry until kafka.connectTimeout and then call
// SLUICE_BROKERS_UNREACHABLE; found in the error (either client's wrapping), they become coded
// errors at once, saying what to fix.
import { sluiceError } from '../errors.ts';
import type { SluiceError } from '../errors.ts';
import type { ConnectionSecurity } from './port.ts';

/** OpenSSL's certificate verification failures, by the codes Node gives its errors. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);

/** @platformatic/kafka's errors for a connection that closed or timed out */
const NETWORK_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);

/** Whether the error or one it wraps is a network failure (@platformatic/kafka's codes). */
function networkFailure(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 8) return false;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (NETWORK_CODES.has(e.code as string)) return true;
  return networkFailure(e.cause, depth + 1) || (Array.isArray(e.errors) && e.errors.some((x) => networkFailure(x, depth + 1)));
}

/**
 * What a broker (or kafkajs, checking its answer) says when it refuses a login. kafkajs wraps
 * every error during the login in KafkaJSSASLAuthenticationError, a connection the broker closed
 * or a request that timed out too ("SASL PLAIN authentication failed: Closed connection"), so
 * only these messages make its error a refusal; the rest stays a network failure, retried.
 */
const KAFKAJS_REFUSAL = /Authentication failed|Invalid username or password|mechanism is not supported|Invalid server nonce|less than the minimum|Invalid server signature/;

/**
 * kafkajs's and @platformatic/kafka's errors for a refused SASL authentication. The latter's
 * also covers a SASL handshake the connection closed under (a plaintext client on a TLS
 * listener): that one is a network failure, as kafkajs reports it.
 */
const isAuthFailure = (e: { name?: unknown; code?: unknown; cause?: unknown; message?: unknown }) =>
  (e.name === 'KafkaJSSASLAuthenticationError' && typeof e.message === 'string' && KAFKAJS_REFUSAL.test(e.message)) || (e.code === 'PLT_KFK_AUTHENTICATION' && !networkFailure(e.cause));
/** a failed verification, a wrong host name (ERR_TLS_CERT_ALTNAME_INVALID), or an alert or protocol error from the handshake (ERR_SSL_*) */
const isTlsFailure = (e: { code?: unknown }) => typeof e.code === 'string' && (CERTIFICATE_CODES.has(e.code) || /^ERR_(?:TLS|SSL)_/.test(e.code));

type Found = { kind: 'auth' | 'tls'; error: Error & { code?: unknown } };

/** Searches the error and what it wraps: causes, kafkajs's originalError, aggregated errors. */
function find(err: unknown, depth = 0): Found | undefined {
  if (typeof err !== 'object' || err === null || depth > 8) return undefined;
  const e = err as Error & { code?: unknown; originalError?: unknown; errors?: unknown };
  if (isAuthFailure(e)) return { kind: 'auth', error: e };
  if (isTlsFailure(e)) return { kind: 'tls', error: e };
  const inner = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  for (const next of inner) {
    const found = find(next, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The coded error for a refused login or a failed TLS handshake in `err`; undefined for anything else. */
export function securityFailure(err: unknown, brokers: readonly string[], security: ConnectionSecurity | undefined): SluiceError | undefined {
  const found = find(err);
  if (found === undefined) return undefined;
  const where = brokers.join(', ');
  if (found.kind === 'auth') {
    const sasl = security?.sasl;
    const who = sasl === undefined ? '' : ` as "${sasl.username}" (${sasl.mechanism})`;
    return sluiceError('SLUICE_KAFKA_AUTH_FAILED', `Kafka brokers ${where} refused SASL authentication${who}: ${found.error.message}; check kafka.sasl`, { cause: err });
  }
  const code = typeof found.error.code === 'string' ? ` (${found.error.code})` : '';
  return sluiceError('SLUICE_KAFKA_TLS_FAILED', `TLS handshake with Kafka brokers ${where} failed: ${found.error.message}${code}; check kafka.ssl`, { cause: err });
}
