// kafka.ssl and kafka.sasl: the schema's rules, the files and variables checked with the rest of
// the config (each problem an issue naming its path), and the secrets the clients get.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../../src/config/load.ts';
import { connectionSecurity } from '../../../src/config/security-schema.ts';
import { MINIMAL_CONFIG, refusalDetails } from '../../helpers/minimal-config.ts';
import { makeTestCertificates } from '../../helpers/test-certificates.ts';
import type { TestCertificates } from '../../helpers/test-certificates.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-security-'));
let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates(join(dir, 'tls'));
});

const withKafka = (kafka: Record<string, unknown>) => ({ ...MINIMAL_CONFIG, kafka: { ...MINIMAL_CONFIG.kafka, ...kafka } });
const refusal = (kafka: Record<string, unknown>) => refusalDetails(() => parseConfig(withKafka(kafka)));

describe('kafka.ssl and kafka.sasl', () => {
  it('gives the clients the PEM contents and the password, never the paths', () => {
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'secret\n');
    const config = parseConfig(withKafka({ ssl: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, servername: 'kafka.internal' }, sasl: { mechanism: 'scram-sha-512', username: 'app', passwordFile } }));
    expect(config.kafka.ssl).toEqual({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, rejectUnauthorized: true, servername: 'kafka.internal' });
    expect(connectionSecurity(config.kafka)).toEqual({
      tls: { ca: readFileSync(certs.ca, 'utf8'), cert: readFileSync(certs.clientCert, 'utf8'), key: readFileSync(certs.clientKey, 'utf8'), rejectUnauthorized: true, servername: 'kafka.internal' },
      sasl: { mechanism: 'scram-sha-512', username: 'app', password: 'secret' },
    });
  });

  it('reads the password from the environment variable named', () => {
    process.env.SLUICE_UNIT_KAFKA_PASSWORD = 'from-env';
    try {
      const config = parseConfig(withKafka({ sasl: { mechanism: 'plain', username: 'app', passwordEnv: 'SLUICE_UNIT_KAFKA_PASSWORD' } }));
      expect(connectionSecurity(config.kafka)).toEqual({ sasl: { mechanism: 'plain', username: 'app', password: 'from-env' } });
    } finally {
      delete process.env.SLUICE_UNIT_KAFKA_PASSWORD;
    }
  });

  it('encrypts with the system CAs for ssl: {}, and adds nothing when neither is set', () => {
    expect(connectionSecurity(parseConfig(withKafka({ ssl: {} })).kafka)).toEqual({ tls: { rejectUnauthorized: true } });
    expect(connectionSecurity(parseConfig(MINIMAL_CONFIG).kafka)).toEqual({});
  });

  it('resolves relative paths against the config file', () => {
    const configDir = join(dir, 'relative');
    mkdirSync(join(configDir, 'secrets'), { recursive: true });
    writeFileSync(join(configDir, 'secrets', 'ca.pem'), readFileSync(certs.ca));
    writeFileSync(join(configDir, 'secrets', 'password'), 'pw');
    const file = join(configDir, 'pipeline.yaml');
    writeFileSync(file, stringify(withKafka({ ssl: { ca: 'secrets/ca.pem' }, sasl: { mechanism: 'plain', username: 'app', passwordFile: 'secrets/password' } })));
    const config = loadConfigFile(file);
    expect(config.kafka.ssl?.ca).toBe(join(configDir, 'secrets', 'ca.pem'));
    expect(connectionSecurity(config.kafka).sasl?.password).toBe('pw');
  });

  it('reports every unusable file and variable with the config path and the file, beside the other issues', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const notPem = join(dir, 'not-pem');
    writeFileSync(notPem, 'hello');
    expect(refusalDetails(() => parseConfig({ ...withKafka({ ssl: { ca: join(dir, 'missing.pem') }, sasl: { mechanism: 'plain', username: 'app', passwordFile: empty } }), output: undefined }))).toEqual([
      { path: 'output', message: 'required' },
      { path: 'kafka.ssl.ca', message: `cannot read ${join(dir, 'missing.pem')}: no such file` },
      { path: 'kafka.sasl.passwordFile', message: `${empty} is empty` },
    ]);
    expect(refusal({ ssl: { ca: notPem }, sasl: { mechanism: 'plain', username: 'app', passwordEnv: 'SLUICE_UNIT_UNSET_VARIABLE' } })).toEqual([
      { path: 'kafka.ssl.ca', message: expect.stringMatching(new RegExp(`^${notPem} does not hold a PEM certificate: `)) },
      { path: 'kafka.sasl.passwordEnv', message: 'environment variable SLUICE_UNIT_UNSET_VARIABLE is not set' },
    ]);
  });

  it('refuses a key that is not the certificate\'s', () => {
    const otherKey = join(dir, 'tls', 'broker.key');
    expect(refusal({ ssl: { cert: certs.clientCert, key: otherKey } })).toEqual([
      { path: 'kafka.ssl.key', message: `${otherKey} does not hold an unencrypted PEM private key: it is not the key of the certificate in ${certs.clientCert}` },
    ]);
  });

  it('needs cert and key together, exactly one password source, and no password in the config', () => {
    expect(refusal({ ssl: { cert: certs.clientCert } })).toEqual([{ path: 'kafka.ssl.key', message: 'required with cert (a client certificate needs its key)' }]);
    expect(refusal({ sasl: { mechanism: 'scram-sha-256', username: 'app' } })).toEqual([{ path: 'kafka.sasl', message: 'one of passwordFile or passwordEnv is required (the password itself never goes in the config)' }]);
    process.env.SLUICE_UNIT_BOTH = 'x';
    const file = join(dir, 'pw-both');
    writeFileSync(file, 'x');
    try {
      expect(refusal({ sasl: { mechanism: 'plain', username: 'app', passwordFile: file, passwordEnv: 'SLUICE_UNIT_BOTH' } })).toEqual([{ path: 'kafka.sasl', message: 'give one of passwordFile or passwordEnv, not both' }]);
    } finally {
      delete process.env.SLUICE_UNIT_BOTH;
    }
    expect(refusal({ sasl: { mechanism: 'plain', username: 'app', password: 'in-clear', passwordFile: file } })).toEqual([{ path: 'kafka.sasl.password', message: 'unknown key' }]);
    expect(refusal({ sasl: { mechanism: 'gssapi', username: 'app', passwordFile: file } })).toEqual([{ path: 'kafka.sasl.mechanism', message: expect.stringContaining('plain') }]);
  });

  it('turns a file that went missing after validation into a config error naming it', () => {
    const file = join(dir, 'pw-vanishing');
    writeFileSync(file, 'x');
    const config = parseConfig(withKafka({ sasl: { mechanism: 'plain', username: 'app', passwordFile: file } }));
    writeFileSync(file, '');
    expect(() => connectionSecurity(config.kafka)).toThrow(expect.objectContaining({ code: 'SLUICE_CONFIG_INVALID', message: expect.stringContaining(`kafka.sasl.passwordFile: ${file} is empty`) }));
  });
});
