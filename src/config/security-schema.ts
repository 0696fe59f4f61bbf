// Secured broker connections: `kafka.ssl` (TLS, optionally with a client certificate) and
// `kafka.sasl` (PLAIN or SCRAM). The config names files and environment variables, never a secret
// itself: the YAML sits in a ConfigMap and in startup logs, while the secrets come from mounted
// Secrets. The files are read and checked while the config is validated, so a missing, unreadable
// or malformed one is a config issue naming its path, reported with every other issue; the
// clients get the contents (ConnectionSecurity) when they are built.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { SASL_MECHANISMS } from '../clients/port.ts';
import type { ConnectionSecurity, SaslMechanism } from '../clients/port.ts';
import { sluiceError } from '../errors.ts';
import { isRecord } from './raw-config.ts';
import type { ConfigIssue } from './raw-config.ts';

const pemFile = (what: string) => z.string().min(1).optional().describe(`PEM file of ${what} (a relative path resolves against the config file).`);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const sslSchema = z
  .strictObject({
    ca: pemFile("the CA certificates that the brokers' certificates must chain to; omit to trust the system's CAs"),
    cert: pemFile('the client certificate (and its chain) for brokers that require one (mutual TLS); needs key'),
    key: pemFile("the client certificate's private key, unencrypted; needs cert"),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe("Refuse a broker whose certificate does not chain to a trusted CA or does not name the broker's host. Turn it off only to diagnose, never in production."),
    servername: z
      .string()
      .min(1)
      .optional()
      .describe("Host name the brokers' certificates are checked against (and sent as SNI) instead of each broker's host: for brokers reached by an address their certificates do not name."),
  })
  .superRefine((ssl, ctx) => {
    if ((ssl.cert === undefined) !== (ssl.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [ssl.cert === undefined ? 'cert' : 'key'], message: `required with ${ssl.cert === undefined ? 'key' : 'cert'} (a client certificate needs its key)` });
    }
  })
  .optional()
  .describe('TLS to every broker (SSL and SASL_SSL listeners); omit for plaintext. `ssl: {}` encrypts and trusts the system CAs. See docs/security.md.');

export const saslSchema = z
  .strictObject({
    mechanism: z.enum(SASL_MECHANISMS).describe('SASL mechanism the brokers accept: plain, scram-sha-256 or scram-sha-512. Use plain only with ssl: it sends the password as it is.'),
    username: z.string().min(1).describe('SASL user name.'),
    passwordFile: z
      .string()
      .min(1)
      .optional()
      .describe('File holding the password, e.g. a mounted Secret (a relative path resolves against the config file; one trailing newline is ignored). Exactly one of passwordFile and passwordEnv.'),
    passwordEnv: z
      .string()
      .regex(ENV_NAME, { error: 'expected an environment variable name' })
      .optional()
      .describe('Environment variable holding the password. Exactly one of passwordFile and passwordEnv.'),
  })
  .superRefine((sasl, ctx) => {
    const given = [sasl.passwordFile, sasl.passwordEnv].filter((x) => x !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', message: given === 0 ? 'one of passwordFile or passwordEnv is required (the password itself never goes in the config)' : 'give one of passwordFile or passwordEnv, not both' });
  })
  .optional()
  .describe('SASL authentication on every broker connection; omit for none. Combine with ssl for SASL_SSL listeners. See docs/security.md.');

type SslConfig = z.output<typeof sslSchema>;
type SaslConfig = z.output<typeof saslSchema>;
interface SecurityConfig {
  ssl?: SslConfig;
  sasl?: SaslConfig;
}

/** A file's contents, or an issue naming the config path and the file. */
function readFile(path: string, at: (string | number)[], issues: ConfigIssue[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    issues.push({ path: at, message: `cannot read ${path}: ${reason}` });
    return undefined;
  }
}

/** Runs a parse of file contents, turning its failure into an issue naming the file. */
function check(at: (string | number)[], path: string, what: string, issues: ConfigIssue[], parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    issues.push({ path: at, message: `${path} does not hold ${what}: ${(err as Error).message}` });
  }
}

/** The TLS options from the ssl section's files, with an issue for each file that is missing or malformed. */
function tlsOptions(ssl: Record<string, unknown>, baseDir: string | undefined, issues: ConfigIssue[]): NonNullable<ConnectionSecurity['tls']> {
  const file = (key: 'ca' | 'cert' | 'key'): { path: string; text: string | undefined } | undefined => {
    const value = ssl[key];
    if (typeof value !== 'string' || value === '') return undefined;
    const path = resolvePath(value, baseDir);
    return { path, text: readFile(path, ['kafka', 'ssl', key], issues) };
  };
  const ca = file('ca');
  const cert = file('cert');
  const key = file('key');
  if (ca?.text !== undefined) check(['kafka', 'ssl', 'ca'], ca.path, 'a PEM certificate', issues, () => new X509Certificate(ca.text!));
  if (cert?.text !== undefined && key?.text !== undefined) {
    let certificate: X509Certificate | undefined;
    check(['kafka', 'ssl', 'cert'], cert.path, 'a PEM certificate', issues, () => (certificate = new X509Certificate(cert.text!)));
    check(['kafka', 'ssl', 'key'], key.path, 'an unencrypted PEM private key', issues, () => {
      const privateKey = createPrivateKey(key.text!);
      if (certificate !== undefined && !certificate.checkPrivateKey(privateKey)) throw new Error(`it is not the key of the certificate in ${cert.path}`);
    });
  }
  const options: NonNullable<ConnectionSecurity['tls']> = { rejectUnauthorized: ssl.rejectUnauthorized !== false };
  if (ca?.text !== undefined) options.ca = ca.text;
  if (cert?.text !== undefined) options.cert = cert.text;
  if (key?.text !== undefined) options.key = key.text;
  if (typeof ssl.servername === 'string') options.servername = ssl.servername;
  return options;
}

function saslPassword(sasl: Record<string, unknown>, baseDir: string | undefined, issues: ConfigIssue[]): string | undefined {
  if (typeof sasl.passwordFile === 'string' && sasl.passwordFile !== '') {
    const path = resolvePath(sasl.passwordFile, baseDir);
    const text = readFile(path, ['kafka', 'sasl', 'passwordFile'], issues);
    // `echo secret > file` and most secret stores end the file with a newline no password means.
    const password = text?.replace(/\r?\n$/, '');
    if (password === '') issues.push({ path: ['kafka', 'sasl', 'passwordFile'], message: `${path} is empty` });
    return password;
  }
  if (typeof sasl.passwordEnv === 'string' && ENV_NAME.test(sasl.passwordEnv)) {
    const password = process.env[sasl.passwordEnv];
    if (password === undefined || password === '') issues.push({ path: ['kafka', 'sasl', 'passwordEnv'], message: `environment variable ${sasl.passwordEnv} is ${password === undefined ? 'not set' : 'empty'}` });
    return password;
  }
  return undefined;
}

function resolvePath(path: string, baseDir: string | undefined): string {
  return baseDir === undefined || isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Reads the secrets `kafka` names; every file or variable that cannot be used is an issue. Runs
 * on the raw config too (as validation does, so that it reports with every other issue), hence
 * the defensive reads.
 */
function readSecurity(kafka: unknown, baseDir: string | undefined): { security: ConnectionSecurity; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const security: ConnectionSecurity = {};
  if (!isRecord(kafka)) return { security, issues };
  if (isRecord(kafka.ssl)) security.tls = tlsOptions(kafka.ssl, baseDir, issues);
  const sasl = kafka.sasl;
  if (isRecord(sasl)) {
    const password = saslPassword(sasl, baseDir, issues);
    if (password !== undefined && typeof sasl.username === 'string' && SASL_MECHANISMS.includes(sasl.mechanism as never)) {
      security.sasl = { mechanism: sasl.mechanism as SaslMechanism, username: sasl.username, password };
    }
  }
  return { security, issues };
}

/** The issues of the files and variables a raw config's `kafka` section names (config validation). */
export function securityIssues(raw: unknown, baseDir: string | undefined): ConfigIssue[] {
  return isRecord(raw) ? readSecurity(raw.kafka, baseDir).issues : [];
}

/** Makes the paths of a validated `kafka` section absolute, as the files were checked. */
export function resolveSecurityPaths(kafka: SecurityConfig, baseDir: string): void {
  if (kafka.ssl !== undefined) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      const path = kafka.ssl[key];
      if (path !== undefined) kafka.ssl[key] = resolvePath(path, baseDir);
    }
  }
  if (kafka.sasl?.passwordFile !== undefined) kafka.sasl.passwordFile = resolvePath(kafka.sasl.passwordFile, baseDir);
}

/**
 * What the clients connect with: the secrets read now, for the client being built. They were
 * checked when the config was validated; one that went missing since is still a config error.
 */
export function connectionSecurity(kafka: SecurityConfig): ConnectionSecurity {
  const { security, issues } = readSecurity(kafka, undefined);
  if (issues.length > 0) {
    const details = issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw sluiceError('SLUICE_CONFIG_INVALID', ['the Kafka security settings cannot be used:', ...details.map((d) => `${d.path}: ${d.message}`)].join('\n'), { details });
  }
  return security;
}
