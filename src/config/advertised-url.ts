// The URL other instances redirect a query to when this instance owns the partition
// (`http.advertisedUrl`). Resolved once at startup, in the thread that reads the config: worker
// threads get the result as a plain string, so all of them announce exactly what the main thread
// serves on (their own http.port is 0).
import { hostname } from 'node:os';
import { sluiceError } from '../errors.ts';
import { isHttpUrl } from './schema.ts';
import type { SluiceConfig } from './schema.ts';

/** Addresses that listen on every interface: no other machine can reach them by that name. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** The URL without a trailing slash, so that `${url}/aggregates` is one path. */
function normalized(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * This instance's advertised URL, or undefined when it serves no HTTP (http.port 0) and names none:
 * nobody can be sent to it then. A `{ env }` variable unset, empty or not an http(s) URL is
 * SLUICE_ADVERTISED_URL_INVALID; a string in the config was checked when the config was parsed.
 */
export function resolveAdvertisedUrl(http: SluiceConfig['http'], env: NodeJS.ProcessEnv = process.env, host: () => string = hostname): string | undefined {
  const configured = http.advertisedUrl;
  if (typeof configured === 'string') return normalized(configured);
  if (configured !== undefined) {
    const value = env[configured.env];
    if (value === undefined || value === '') throw sluiceError('SLUICE_ADVERTISED_URL_INVALID', `http.advertisedUrl: environment variable ${configured.env} is unset or empty`);
    if (!isHttpUrl(value)) throw sluiceError('SLUICE_ADVERTISED_URL_INVALID', `http.advertisedUrl: environment variable ${configured.env} holds "${value}", not an http(s) URL`);
    return normalized(value);
  }
  if (http.port === 0) return undefined;
  const name = WILDCARD_HOSTS.has(http.host) ? host() : http.host;
  // An IPv6 literal needs brackets in a URL.
  const authority = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return `http://${authority}:${http.port}`;
}
