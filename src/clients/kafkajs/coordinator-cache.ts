// kafkajs asks the cluster for a coordinator (a FindCoordinator round trip) before every
// transactional request: AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit (the group's
// coordinator) and EndTxn. Measured on one lane sink against the local broker: 4.2 FindCoordinator
// requests per transaction beside 5.4 that do the work, and about 4 ms of CPU and 9 ms of wall
// time per transaction even with 10 records in it. Coordinators move only when the broker that
// leads a __transaction_state or __consumer_offsets partition changes, so each cluster object
// (one per kafkajs client: every lane's producer has its own) remembers the answer briefly.
//
// Staleness is bounded: an answer is used for at most COORDINATOR_TTL_MS (a monotonic clock), and
// only while its broker is still the cluster's connected broker for that node (a broker the pool
// replaced or dropped is looked up again, so no orphaned connection is handed out). A request sent
// to a coordinator that moved within the second is refused by the broker (NOT_COORDINATOR), never
// accepted; kafkajs's own retries of it may meet the same answer until it expires, which costs
// latency, not correctness: a transaction that fails is aborted and its lane reopens with a new
// producer, a new cluster and no cache.

/** how long a coordinator answer is reused */
export const COORDINATOR_TTL_MS = 1000;

interface CoordinatorQuery {
  groupId: string;
  coordinatorType?: number;
}

type FindCoordinator = (this: object, query: CoordinatorQuery) => Promise<unknown>;

/** what of kafkajs's Broker and Cluster the freshness check reads */
interface BrokerLike {
  nodeId?: number;
  isConnected?: () => boolean;
}
interface ClusterLike {
  brokerPool?: { brokers?: Record<string, unknown> };
}

interface Cached {
  at: number;
  broker: Promise<unknown>;
  resolved?: BrokerLike;
}

/** The broker is still the one the cluster's pool holds for its node, and connected. */
function stillCurrent(cluster: object, broker: BrokerLike | undefined): boolean {
  if (broker === undefined) return true; // still being looked up: share the lookup
  const pool = (cluster as ClusterLike).brokerPool?.brokers;
  return broker.nodeId !== undefined && pool?.[broker.nodeId] === broker && broker.isConnected?.() === true;
}

const caches = new WeakMap<object, Map<string, Cached>>();
const WRAPPED = Symbol('sluice.coordinatorCache');

/** The cluster method with each answer reused for COORDINATOR_TTL_MS per cluster, group id and type. */
export function cachedFindCoordinator(original: FindCoordinator, now: () => number = () => performance.now()): FindCoordinator {
  if ((original as { [WRAPPED]?: boolean })[WRAPPED]) return original;
  const wrapped: FindCoordinator = function (this: object, query: CoordinatorQuery) {
    let cache = caches.get(this);
    if (cache === undefined) caches.set(this, (cache = new Map()));
    const key = `${query.coordinatorType ?? 0}:${query.groupId}`;
    const hit = cache.get(key);
    const t = now();
    const age = hit === undefined ? Number.POSITIVE_INFINITY : t - hit.at;
    if (hit !== undefined && age >= 0 && age < COORDINATOR_TTL_MS && stillCurrent(this, hit.resolved)) return hit.broker;
    const broker = original.call(this, query);
    const entry: Cached = { at: t, broker };
    cache.set(key, entry);
    broker.then(
      (b) => void (entry.resolved = b as BrokerLike),
      // A failed lookup is not remembered.
      () => {
        if (cache.get(key) === entry) cache.delete(key);
      },
    );
    return broker;
  };
  (wrapped as { [WRAPPED]?: boolean })[WRAPPED] = true;
  return wrapped;
}
