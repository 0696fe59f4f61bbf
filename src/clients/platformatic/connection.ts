// Where every client of @platformatic/kafka gets its brokers and its TLS and SASL settings. Each
// consumer, producer and admin sluice builds on this side (group, fetch loop, lane sinks, restores,
// followers, offset lookups, the probe) opens connections of its own, so each is built from
// connectionOptions: none can go out without `kafka.ssl` and `kafka.sasl`.
import { isIP } from 'node:net';
import type { ConnectionSecurity, SaslMechanism } from '../port.ts';

export interface PlatformaticConnection {
  brokers: readonly string[];
  clientId: string;
  /** TLS and SASL of every connection (`kafka.ssl`, `kafka.sasl`) */
  security?: ConnectionSecurity;
}

/** The library's names of the mechanisms. */
const MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const satisfies Record<SaslMechanism, string>;

/** The host of `host:port` or `[v6]:port`. */
const hostOf = (broker: string): string => broker.slice(0, broker.lastIndexOf(':')).replace(/^\[|\]$/g, '');

/** A client's base options; `role` names it after the application's client id, e.g. `sluice-fetch`. */
export function connectionOptions(conn: PlatformaticConnection, role?: string) {
  const { tls, sasl } = conn.security ?? {};
  // The library sends SNI only when asked (kafkajs always does): proxies that route TLS by name
  // need it. Each connection then names its own host; never an IP address, which SNI cannot carry.
  const sni = tls !== undefined && tls.servername === undefined && conn.brokers.every((b) => isIP(hostOf(b)) === 0);
  return {
    clientId: role === undefined ? conn.clientId : `${conn.clientId}-${role}`,
    bootstrapBrokers: [...conn.brokers],
    ...(tls === undefined ? {} : { tls }),
    ...(sni ? { tlsServerName: true } : {}),
    ...(sasl === undefined ? {} : { sasl: { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username, password: sasl.password } }),
  };
}
