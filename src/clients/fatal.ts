// Failures after which the group's consumer cannot make progress. A record batch that cannot be
// decoded fails the same way on every fetch, so retrying it only hides the failure: kafkajs 2.2.4
// stops its consumer for good on such an error (or, for a retriable one, restarts it into the same
// batch), and a raw fetch on @platformatic/kafka would be retried forever. Either way nothing is
// processed and nothing says so. Both clients turn these into one coded error that the group hands
// to `onFatal` (port.ts), and the process exits with it.
import { isSluiceError, sluiceError } from '../errors.ts';
import type { SluiceError } from '../errors.ts';

/** The error a codec raises for a batch it cannot decompress. */
export function unreadableBatch(codec: string, cause: unknown): SluiceError {
  const why = cause instanceof Error ? cause.message : String(cause);
  // The codec's error goes into details, not cause: kafkajs wraps an error as the error's own
  // cause when it has none, but skips it for its cause when it has one, and the code would be lost.
  const err = sluiceError('SLUICE_INPUT_UNREADABLE', `a ${codec}-compressed record batch cannot be decompressed: ${why}`, { details: { codec, error: cause } });
  // kafkajs's retrier gives up at once on an error that says it is not retriable, and its
  // consumer then crashes without restarting, which is what the group watches for.
  return Object.assign(err, { retriable: false });
}

/** The first error in a client's error tree (causes, wrapped and multiple errors) that matches. */
export function findInErrorTree(err: unknown, match: (e: object) => boolean, depth = 0): object | undefined {
  if (err === null || typeof err !== 'object' || depth > 8) return undefined;
  if (match(err)) return err;
  const e = err as { errors?: unknown; cause?: unknown; originalError?: unknown };
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = findInErrorTree(inner, match, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findInErrorTree(e.originalError, match, depth + 1) ?? findInErrorTree(e.cause, match, depth + 1);
}

/** The SLUICE_INPUT_UNREADABLE error anywhere in a client's error tree. */
export function findUnreadable(err: unknown): SluiceError | undefined {
  return findInErrorTree(err, (e) => isSluiceError(e) && e.code === 'SLUICE_INPUT_UNREADABLE') as SluiceError | undefined;
}

/**
 * What a kafkajs consumer crash means for the process: an unreadable batch, or a crash kafkajs
 * will not restart from (its consumer is then gone), is fatal; a crash it restarts from is not.
 */
export function kafkajsCrashVerdict(error: Error, restart: boolean, topics: readonly string[]): SluiceError | undefined {
  const unreadable = findUnreadable(error);
  if (unreadable !== undefined) {
    return sluiceError('SLUICE_INPUT_UNREADABLE', `consuming ${topics.join(', ')} stopped: ${unreadable.message}`, { cause: error });
  }
  if (restart) return undefined;
  return sluiceError('SLUICE_KAFKA', `the kafkajs consumer of ${topics.join(', ')} crashed and will not restart: ${error.message}`, { cause: error, canRetry: false });
}
