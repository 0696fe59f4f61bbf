// Every @platformatic/kafka client sluice builds takes its brokers, TLS and SASL from
// connectionOptions, so none connects without kafka.ssl and kafka.sasl.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectionOptions } from '../../../../src/clients/platformatic/connection.ts';

const folder = fileURLToPath(new URL('../../../../src/clients/platformatic/', import.meta.url));

describe('connectionOptions', () => {
  it("passes TLS as it is and SASL under the library's mechanism names", () => {
    const tls = { ca: 'PEM', rejectUnauthorized: true };
    expect(connectionOptions({ brokers: ['b:9093'], clientId: 'app', security: { tls, sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' } } }, 'fetch')).toEqual({
      clientId: 'app-fetch',
      bootstrapBrokers: ['b:9093'],
      tls,
      tlsServerName: true,
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' },
    });
    expect(connectionOptions({ brokers: ['b:9092'], clientId: 'app' })).toEqual({ clientId: 'app', bootstrapBrokers: ['b:9092'] });
  });

  it('asks for SNI by each broker\'s host name, unless a servername is set or a broker is an IP address', () => {
    const tls = { rejectUnauthorized: true };
    expect(connectionOptions({ brokers: ['kafka-0.example:9093'], clientId: 'app', security: { tls } })).toMatchObject({ tlsServerName: true });
    expect(connectionOptions({ brokers: ['127.0.0.1:9093'], clientId: 'app', security: { tls } })).not.toHaveProperty('tlsServerName');
    expect(connectionOptions({ brokers: ['[::1]:9093'], clientId: 'app', security: { tls } })).not.toHaveProperty('tlsServerName');
    expect(connectionOptions({ brokers: ['kafka:9093'], clientId: 'app', security: { tls: { servername: 'k' } } })).not.toHaveProperty('tlsServerName');
    expect(connectionOptions({ brokers: ['kafka:9092'], clientId: 'app' })).not.toHaveProperty('tlsServerName');
  });

  it('is the only place that names the brokers of a client', () => {
    const naming = readdirSync(folder).filter((file) => file.endsWith('.ts') && readFileSync(`${folder}${file}`, 'utf8').includes('bootstrapBrokers'));
    expect(naming).toEqual(['connection.ts']);
  });
});
