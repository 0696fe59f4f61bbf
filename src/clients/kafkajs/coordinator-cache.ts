// kafkajs asks the cluster for a coordinator (a FindCoordinator round trip) before every
// transactional request: AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit (the group's
// coordinator) and EndTxn. Measured on one lane sink against the local broker: 4.2 FindCoordinator
// requests per transaction beside 5.4 that do the work, and about 4 ms of CPU and 9 ms of wall
// time per transaction even with 10 records in it. Coordinators move only when the broker that
// leads a __transaction_state or __consumer_offsets partition changes, so each cluster object
// (one per kafkajs client: every lane's producer has its own) remembers the answer briefly.
//
// Staleness is bounded two ways: an answer is used for at most COORDINATOR_TTL_MS, and a
// request sent to a stale coordinator fails (NOT_COORDINATOR and the like), which fails the
// lane's transaction, and the lane reopens with a new producer, a new cluster and no cache; the
// same outcome as when the coordinator moves between a lookup and its request today.

/** how long a coordinator answer is reused */
export const COORDINATOR_TTL_MS = 1000;

interface CoordinatorQuery {
  groupId: string;
  coordinatorType?: number;
}

type FindCoordinator = (this: object, query: CoordinatorQuery) => Promise<unknown>;

interface Cached {
  at: number;
  broker: Promise<unknown>;
}

const caches = new WeakMap<object, Map<string, Cached>>();
const WRAPPED = Symbol('sluice.coordinatorCache');

/** The cluster method with each answer reused for COORDINATOR_TTL_MS per cluster, group id and type. */
export function cachedFindCoordinator(original: FindCoordinator, now: () => number = Date.now): FindCoordinator {
  if ((original as { [WRAPPED]?: boolean })[WRAPPED]) return original;
  const wrapped: FindCoordinator = function (this: object, query: CoordinatorQuery) {
    let cache = caches.get(this);
    if (cache === undefined) caches.set(this, (cache = new Map()));
    const key = `${query.coordinatorType ?? 0}:${query.groupId}`;
    const hit = cache.get(key);
    const t = now();
    if (hit !== undefined && t - hit.at < COORDINATOR_TTL_MS) return hit.broker;
    const broker = original.call(this, query);
    const entry = { at: t, broker };
    cache.set(key, entry);
    // A failed lookup is not remembered.
    broker.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
    return broker;
  };
  (wrapped as { [WRAPPED]?: boolean })[WRAPPED] = true;
  return wrapped;
}
