// The bearer token of POST /events: read once at startup from where the config points (never the
// YAML itself), and compared in constant time so that response timing says nothing about it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sluiceError } from '../errors.ts';

/** exactly one of them set (the config checks it) */
export interface SecretReference {
  readonly env?: string | undefined;
  readonly file?: string | undefined;
}

/** The secret's text (a file's trailing newline dropped); SLUICE_SECRET_UNREADABLE if unset or empty. */
export function readSecret(ref: SecretReference, what: string, env: NodeJS.ProcessEnv = process.env): string {
  let value: string | undefined;
  if (ref.env !== undefined) {
    value = env[ref.env];
    if (value === undefined || value === '') throw sluiceError('SLUICE_SECRET_UNREADABLE', `${what}: environment variable ${ref.env} is unset or empty`);
    return value;
  }
  try {
    value = readFileSync(ref.file ?? '', 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw sluiceError('SLUICE_SECRET_UNREADABLE', `${what}: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (value === '') throw sluiceError('SLUICE_SECRET_UNREADABLE', `${what}: ${ref.file} is empty`);
  return value;
}

// Digests have one length whatever the inputs, which timingSafeEqual requires; comparing them
// hides the token's length as well as its content.
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether an Authorization header carries the bearer token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+)\s*$/i.exec(header ?? '');
  const given = match?.[1] ?? '';
  // Always compare, so a missing header takes as long as a wrong one.
  return timingSafeEqual(digest(given), digest(token)) && match !== null;
}
