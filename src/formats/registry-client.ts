// The schema registry client, built once per process from `schemaRegistry`, and the startup check
// that it answers. Every request has a timeout: an unanswered lookup must fail the batch (which is
// retried), never hang a lane.
import { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import type { SluiceConfig } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';

export type RegistryConfig = NonNullable<SluiceConfig['schemaRegistry']>;

export function createRegistryClient(config: RegistryConfig): Client {
  const auth = config.basicAuth;
  return new SchemaRegistryClient({
    baseURLs: [config.url],
    createAxiosDefaults: { timeout: config.timeout },
    basicAuthCredentials: auth === undefined ? undefined : { credentialsSource: 'USER_INFO', userInfo: `${auth.username}:${auth.password}` },
    // A failed lookup fails the batch, and the lane retries it: retrying here as well only delays that.
    maxRetries: 1,
  });
}

/** Fails startup with SLUICE_SCHEMA_REGISTRY_UNREACHABLE unless the registry answers (with these credentials). */
export async function checkRegistry(client: Client, config: RegistryConfig): Promise<void> {
  try {
    await client.getAllSubjects();
  } catch (err) {
    throw sluiceError('SLUICE_SCHEMA_REGISTRY_UNREACHABLE', `schema registry ${config.url} did not answer: ${describeRegistryError(err)}`, { cause: err });
  }
}

/** HTTP status of a registry error, when the registry answered at all. */
export function registryStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown; response?: { status?: unknown } }).status ?? (err as { response?: { status?: unknown } }).response?.status;
  return typeof status === 'number' ? status : undefined;
}

export function describeRegistryError(err: unknown): string {
  const status = registryStatus(err);
  const message = err instanceof Error ? err.message : String(err);
  return status === undefined ? message : `HTTP ${status}: ${message}`;
}
