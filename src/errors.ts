// Every failure sluice raises carries a stable code, so operators can grep for it, alerts can
// match on it, and the CLI can turn it into a meaningful exit code. `canRetry` says whether doing
// the same thing again may succeed (the platformatic/kafka convention). A lane's failure is
// recovered by its class first, then by `canRetry` (`recoveryFor`, which the group consumer's
// `onLaneError` dispatches on): wait for the rebalance, restore the state, retry with a fresh
// lane, or give up and stop the pipeline.
//
// docs/errors.md documents every code; test/unit/errors.test.ts keeps the two in step.

export interface ErrorCodeSpec {
  readonly description: string;
  readonly canRetry: boolean;
  /** Process exit code when the error reaches the CLI unhandled. */
  readonly exitCode: number;
}

// Exit codes: 2 = the operator must change something before a restart can help (config, topology);
// 1 = the environment failed (brokers, topics, disk) and a restart later may work; 70 (EX_SOFTWARE)
// = a bug in sluice.
const EXIT_CONFIG = 2;
const EXIT_RUNTIME = 1;
const EXIT_SOFTWARE = 70;

function defineCodes<const T extends Record<string, ErrorCodeSpec>>(codes: T): Readonly<T> {
  for (const spec of Object.values(codes)) Object.freeze(spec);
  return Object.freeze(codes);
}

export const ERROR_CODES = defineCodes({
  SLUICE_CONFIG_INVALID: {
    description: 'The config file failed validation; details holds every issue as { path, message }.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_CONFIG_UNREADABLE: {
    description: 'The config file is missing, unreadable, or not valid YAML.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_WINDOW_UNSUPPORTED: {
    description: 'A window asks for something its kind does not support: cross-partition windows emit finals only. Reported as an issue of SLUICE_CONFIG_INVALID.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_BROKERS_UNREACHABLE: {
    description: 'No configured broker answered within kafka.connectTimeout.',
    canRetry: true,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_KAFKA_AUTH_FAILED: {
    description: 'The brokers refused the SASL credentials of kafka.sasl (wrong user name, password or mechanism) at startup.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_KAFKA_TLS_FAILED: {
    description: "The TLS handshake with the brokers failed at startup: their certificate is not trusted by kafka.ssl.ca or does not name them, or they refused the client certificate.",
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_INPUT_TOPIC_MISSING: {
    description: 'The input topic does not exist on the cluster.',
    canRetry: false,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_TOPIC_MISSING: {
    description: 'A topic a `sluice dlq` command reads or writes (the dead-letter topic, the input topic) does not exist.',
    canRetry: false,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_ARGUMENT_INVALID: {
    description: 'A command-line option has a value the command cannot use, e.g. a `--since` that is neither an ISO-8601 time nor a duration.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_INPUT_UNREADABLE: {
    description: 'A fetched record batch cannot be decoded (corrupt, or compressed with a codec sluice cannot read): no lane can get past it, so the process exits.',
    canRetry: false,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_TABLE_UNREADABLE: {
    description: 'A reference table cannot be loaded: its file is missing or unreadable, or its topic does not exist or has another partition count than a co-partitioned table needs.',
    canRetry: false,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_SCHEMA_REGISTRY_UNREACHABLE: {
    description: 'The schema registry did not answer (or refused the credentials) at startup, or failed a schema lookup while a batch was prepared; a failed lookup is retried with the batch.',
    canRetry: true,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_OUTPUT_SCHEMA_REJECTED: {
    description: "The schema registry refused to register the output's derived Avro schema under <output.topic>-value, e.g. as incompatible with the subject's earlier versions.",
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_SCHEMA_FILE_INVALID: {
    description: 'The JSON Schema file named by input.schema cannot be read, is not JSON, or is not a valid JSON Schema.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_HTTP_UNAVAILABLE: {
    description: 'The HTTP server cannot listen on http.host and http.port (address in use, or not allowed).',
    canRetry: false,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_SECRET_UNREADABLE: {
    description: 'A secret the config points at (http.authToken) cannot be read: its environment variable is unset or empty, or its file is missing, unreadable or empty.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_ADVERTISED_URL_INVALID: {
    description: 'http.advertisedUrl is not an http(s) URL, or the environment variable it names is unset, empty or not an http(s) URL.',
    canRetry: false,
    exitCode: EXIT_CONFIG,
  },
  SLUICE_STATE_DIR_UNWRITABLE: {
    description: 'The state directory cannot be created or written.',
    canRetry: false,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_STATE_LOCKED: {
    description: "A partition's state store is held by another lane (another worker thread, or another process pointed at the same state directory); the open is retried.",
    canRetry: true,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_TASK_MIGRATED: {
    description: "A partition's transactional producer was fenced by its new owner; close the lane and rejoin.",
    canRetry: true,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_TASK_CORRUPTED: {
    description: "A partition's local state cannot be trusted; wipe it and restore from the changelog.",
    canRetry: true,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_KAFKA: {
    description: 'The Kafka client failed in a way no more specific code covers.',
    canRetry: true,
    exitCode: EXIT_RUNTIME,
  },
  SLUICE_INTERNAL: {
    description: 'A bug in sluice: an invariant did not hold.',
    canRetry: false,
    exitCode: EXIT_SOFTWARE,
  },
});

export type SluiceErrorCode = keyof typeof ERROR_CODES;

/** Codes whose recovery needs a partition; raise them via their subclasses so `instanceof` works. */
type PartitionErrorCode = 'SLUICE_TASK_MIGRATED' | 'SLUICE_TASK_CORRUPTED';
export type GenericErrorCode = Exclude<SluiceErrorCode, PartitionErrorCode>;

export interface SluiceErrorOptions {
  details?: unknown;
  cause?: unknown;
  /** Overrides the registry default, e.g. to carry kafkajs's own `retriable` verdict. */
  canRetry?: boolean;
}

export class SluiceError extends Error {
  override name = 'SluiceError';
  readonly code: SluiceErrorCode;
  readonly canRetry: boolean;
  readonly exitCode: number;
  readonly details: unknown;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    const spec = ERROR_CODES[code];
    this.code = code;
    this.canRetry = options.canRetry ?? spec.canRetry;
    this.exitCode = spec.exitCode;
    this.details = options.details;
  }
}

export function sluiceError(code: GenericErrorCode, message: string, options?: SluiceErrorOptions): SluiceError {
  return new SluiceError(code, message, options);
}

type PartitionErrorOptions = Omit<SluiceErrorOptions, 'canRetry'>;

/** The partition now belongs to another instance: close its lane (no commit) and rejoin the group. */
export class TaskMigratedError extends SluiceError {
  override name = 'TaskMigratedError';
  readonly partition: number;

  constructor(partition: number, message?: string, options?: PartitionErrorOptions) {
    super(
      'SLUICE_TASK_MIGRATED',
      message ?? `partition ${partition} was fenced by a new owner; closing its lane and rejoining`,
      options,
    );
    this.partition = partition;
  }
}

/** The partition's local state is suspect: wipe it and rebuild it from the changelog topic. */
export class TaskCorruptedError extends SluiceError {
  override name = 'TaskCorruptedError';
  readonly partition: number;

  constructor(partition: number, message?: string, options?: PartitionErrorOptions) {
    super(
      'SLUICE_TASK_CORRUPTED',
      message ?? `local state of partition ${partition} is corrupted; restoring it from the changelog`,
      options,
    );
    this.partition = partition;
  }
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}

/**
 * How a lane recovers from a failure:
 * - `rejoin`: fenced (TaskMigratedError): close the lane and wait for the group to rebalance
 *   before reopening, which would otherwise fence the new owner back;
 * - `restore`: local state is suspect (TaskCorruptedError): a fresh lane's open restores it whole
 *   from the changelog;
 * - `escalate`: a SluiceError that cannot be retried: stop the pipeline, loudly;
 * - `reopen`: anything else: close the lane, and a fresh lane retries the batch.
 */
export type Recovery = 'rejoin' | 'restore' | 'escalate' | 'reopen';

export function recoveryFor(err: unknown): Recovery {
  if (err instanceof TaskMigratedError) return 'rejoin';
  if (err instanceof TaskCorruptedError) return 'restore';
  if (isSluiceError(err) && !err.canRetry) return 'escalate';
  return 'reopen';
}

/** Anything that is not a SluiceError escaped every handler, which makes it a bug. */
export function exitCodeOf(err: unknown): number {
  return isSluiceError(err) ? err.exitCode : ERROR_CODES.SLUICE_INTERNAL.exitCode;
}
