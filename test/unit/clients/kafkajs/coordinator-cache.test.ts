import { describe, expect, it } from 'vitest';
import { COORDINATOR_TTL_MS, cachedFindCoordinator } from '../../../../src/clients/kafkajs/coordinator-cache.ts';

const newCluster = () => ({ brokerPool: { brokers: {} as Record<number, unknown> } });

function cluster() {
  const asked: string[] = [];
  let fail = false;
  const original = async function (this: object, q: { groupId: string; coordinatorType?: number }) {
    asked.push(`${q.coordinatorType ?? 0}:${q.groupId}`);
    if (fail) throw new Error('GROUP_COORDINATOR_NOT_AVAILABLE');
    const broker = { nodeId: 1, connected: true, isConnected: () => broker.connected };
    // As kafkajs's brokerPool: the cluster holds the broker it handed out, by node id.
    (this as { brokerPool: { brokers: Record<number, unknown> } }).brokerPool.brokers[1] = broker;
    return broker;
  };
  return { asked, original, failNext: (v: boolean) => void (fail = v) };
}

describe('cachedFindCoordinator', () => {
  it('reuses an answer per cluster, group id and type for the ttl, then asks again', async () => {
    let t = 0;
    const c = cluster();
    const find = cachedFindCoordinator(c.original, () => t);
    const a = newCluster();
    const b = newCluster();
    const first = await find.call(a, { groupId: 'tx-1', coordinatorType: 1 });
    expect(await find.call(a, { groupId: 'tx-1', coordinatorType: 1 })).toBe(first);
    await find.call(a, { groupId: 'tx-1' });
    await find.call(a, { groupId: 'tx-2', coordinatorType: 1 });
    await find.call(b, { groupId: 'tx-1', coordinatorType: 1 });
    expect(c.asked).toEqual(['1:tx-1', '0:tx-1', '1:tx-2', '1:tx-1']);
    t += COORDINATOR_TTL_MS;
    await find.call(a, { groupId: 'tx-1', coordinatorType: 1 });
    expect(c.asked).toHaveLength(5);
  });

  it('does not remember a failed lookup', async () => {
    const c = cluster();
    const find = cachedFindCoordinator(c.original, () => 0);
    const a = newCluster();
    c.failNext(true);
    await expect(find.call(a, { groupId: 'g' })).rejects.toThrow('NOT_AVAILABLE');
    c.failNext(false);
    await expect(find.call(a, { groupId: 'g' })).resolves.toMatchObject({ nodeId: 1 });
    expect(c.asked).toHaveLength(2);
  });

  it('asks again when its broker was replaced in the pool or disconnected, or the clock went back', async () => {
    let t = 100;
    const c = cluster();
    const find = cachedFindCoordinator(c.original, () => t);
    const a = newCluster();
    const first = (await find.call(a, { groupId: 'g' })) as { connected: boolean };
    await find.call(a, { groupId: 'g' });
    expect(c.asked).toHaveLength(1);
    first.connected = false;
    await find.call(a, { groupId: 'g' });
    expect(c.asked).toHaveLength(2);
    a.brokerPool.brokers[1] = { nodeId: 1, isConnected: () => true };
    await find.call(a, { groupId: 'g' });
    expect(c.asked).toHaveLength(3);
    await find.call(a, { groupId: 'g' });
    expect(c.asked).toHaveLength(3);
    t = 50;
    await find.call(a, { groupId: 'g' });
    expect(c.asked).toHaveLength(4);
  });

  it('wraps once, however often it is installed', () => {
    const c = cluster();
    const once = cachedFindCoordinator(c.original);
    expect(cachedFindCoordinator(once)).toBe(once);
  });
});
