// Fencing as either client reports it: the sinks of both turn it into TaskMigratedError.

/** Kafka error types that mean another producer with our transactional id took over (either client). */
export const FENCED_ERRORS: ReadonlySet<string> = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);
