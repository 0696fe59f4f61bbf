// The exactly-once lane sink on @platformatic/kafka against a real broker: what it commits is
// visible exactly once together with the group offset, the changelog end it reports is the
// partition's end, a new owner fences it, and a transactional id can be reopened.
import { afterEach, describe, expect, it } from 'vitest';
import { TaskMigratedError } from '../../src/errors.ts';
import { PlatformaticTransactionalLaneSink } from '../../src/clients/platformatic/sink.ts';
import type { OutRecord } from '../../src/model/records.ts';
import { brokers, createTopics, readAllCommitted, uniqueName, withAdmin } from '../helpers/kafka.ts';

const PARTITION = 1;
const MAX_BYTES = 900 * 1024;

interface Topics {
  input: string;
  output: string;
  changelog: string;
  groupId: string;
}

async function setup(prefix: string): Promise<Topics> {
  const t = { input: uniqueName(`${prefix}-in`), output: uniqueName(`${prefix}-out`), changelog: uniqueName(`${prefix}-changelog`), groupId: uniqueName(`${prefix}-group`) };
  await createTopics([
    { topic: t.input, numPartitions: 2 },
    { topic: t.output, numPartitions: 3 },
    { topic: t.changelog, numPartitions: 2 },
  ]);
  return t;
}

const sinks: PlatformaticTransactionalLaneSink[] = [];
function sink(t: Topics, transactionalId: string): PlatformaticTransactionalLaneSink {
  const s = new PlatformaticTransactionalLaneSink({ brokers: brokers(), clientId: 'sluice-test-plt', transactionalId, groupId: t.groupId, maxBytes: MAX_BYTES, partition: PARTITION });
  sinks.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

/** `n` keyed outputs (partitioned by key hash) and one changelog record per output. */
function batch(t: Topics, tag: string, n: number, valueBytes = 20): OutRecord[] {
  const pad = 'x'.repeat(Math.max(0, valueBytes - tag.length - 8));
  const out: OutRecord[] = [];
  for (let i = 0; i < n; i++) out.push({ topic: t.output, key: `k${i}`, value: `${tag}-${i}-${pad}` });
  for (let i = 0; i < n; i++) out.push({ topic: t.changelog, partition: PARTITION, key: `state-${i}`, value: `${tag}-${i}` });
  return out;
}

const position = (t: Topics, nextOffset: number) => ({ topic: t.input, partition: PARTITION, nextOffset: String(nextOffset) });

/** Hands `records` to the sink as the checkpoint does: outputs and changelog records apart. */
function commit(s: PlatformaticTransactionalLaneSink, records: readonly OutRecord[], pos: ReturnType<typeof position>, changelog: string): Promise<string | undefined> {
  return s.commit(records.filter((r) => r.topic !== changelog), records.filter((r) => r.topic === changelog), pos);
}

// commit() returns once the coordinator has logged the decision; it writes the markers that make
// the offsets and the changelog end visible a moment later, so reads from outside poll.
async function eventually(read: () => Promise<string | undefined>, expected: string | undefined): Promise<string | undefined> {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

async function committedOffset(t: Topics): Promise<string | undefined> {
  const offsets = await withAdmin((admin) => admin.fetchOffsets({ groupId: t.groupId, topics: [t.input] }));
  return offsets[0]?.partitions.find((p) => p.partition === PARTITION)?.offset;
}

async function changelogHigh(t: Topics): Promise<string | undefined> {
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(t.changelog));
  return offsets.find((o) => o.partition === PARTITION)?.high;
}

describe('PlatformaticTransactionalLaneSink', () => {
  it('makes a batch visible exactly once, with the input offset committed in the same transaction', async () => {
    const t = await setup('plt-commit');
    const s = sink(t, uniqueName('plt-commit-tx'));
    await s.open();
    const records: OutRecord[] = [
      ...batch(t, 'a', 50),
      // multi-byte text, headers and a tombstone must survive the trip
      { topic: t.output, key: 'unicode', value: 'grüße, 東京 🚀', headers: { origin: 'héllo', raw: Buffer.from([0, 1, 2]) } },
      { topic: t.changelog, partition: PARTITION, key: 'gone', value: null },
    ];
    await commit(s, records, position(t, 17), t.changelog);

    expect(await eventually(() => committedOffset(t), '17')).toBe('17');
    const out = await readAllCommitted(t.output, 51);
    expect(out).toHaveLength(51);
    expect(new Set(out.map((m) => m.value)).size).toBe(51);
    const unicode = out.find((m) => m.key === 'unicode');
    expect(unicode?.value).toBe('grüße, 東京 🚀');
    expect(unicode?.headers.origin).toBe('héllo');
    // keyed records land where kafkajs (Java's murmur2) puts them; the library's default
    // partitioner would put both of these on partition 1
    expect(out.find((m) => m.key === 'k0')?.partition).toBe(2);
    expect(out.find((m) => m.key === 'k8')?.partition).toBe(2);
    const changelog = await readAllCommitted(t.changelog, 51);
    expect(changelog.every((m) => m.partition === PARTITION)).toBe(true);
    expect(changelog.at(-1)).toMatchObject({ key: 'gone', value: null });
  });

  it('returns the changelog partition end after each commit', async () => {
    const t = await setup('plt-end');
    const s = sink(t, uniqueName('plt-end-tx'));
    await s.open();
    const first = await commit(s, batch(t, 'one', 10), position(t, 10), t.changelog);
    expect(await eventually(() => changelogHigh(t), first)).toBe(first);
    const second = await commit(s, batch(t, 'two', 7), position(t, 20), t.changelog);
    expect(await eventually(() => changelogHigh(t), second)).toBe(second);
    // 10 records and a marker, then 7 records and a marker
    expect([first, second]).toEqual(['11', '19']);
    // A batch without changelog records reports no end.
    expect(await commit(s, [{ topic: t.output, key: 'k', value: 'v' }], position(t, 21), t.changelog)).toBeUndefined();
    expect(await eventually(() => committedOffset(t), '21')).toBe('21');
  });

  it('is fenced by a new owner of its transactional id: its next commit throws TaskMigratedError and stays invisible', async () => {
    const t = await setup('plt-fence');
    const transactionalId = uniqueName('plt-fence-tx');
    const zombie = sink(t, transactionalId);
    await zombie.open();
    await commit(zombie, batch(t, 'before', 5), position(t, 5), t.changelog);

    const owner = sink(t, transactionalId);
    await owner.open();
    await expect(commit(zombie, batch(t, 'zombie', 5), position(t, 10), t.changelog)).rejects.toBeInstanceOf(TaskMigratedError);
    // Once fenced it stays fenced, and must not re-initialize (which would fence the new owner).
    await expect(commit(zombie, batch(t, 'zombie-again', 5), position(t, 10), t.changelog)).rejects.toBeInstanceOf(TaskMigratedError);
    await commit(owner, batch(t, 'owner', 5), position(t, 8), t.changelog);

    const out = await readAllCommitted(t.output, 10);
    expect(out.map((m) => m.value!.split('-')[0]).sort()).toEqual([...Array(5).fill('before'), ...Array(5).fill('owner')]);
    expect(await eventually(() => committedOffset(t), '8')).toBe('8');
  });

  it('reopens a transactional id after a clean close', async () => {
    const t = await setup('plt-reopen');
    const transactionalId = uniqueName('plt-reopen-tx');
    const first = sink(t, transactionalId);
    await first.open();
    await commit(first, batch(t, 'first', 3), position(t, 3), t.changelog);
    await first.close();

    const second = sink(t, transactionalId);
    await second.open();
    const end = await commit(second, batch(t, 'second', 3), position(t, 6), t.changelog);
    expect(end).toBe('8');
    expect(await eventually(() => committedOffset(t), '6')).toBe('6');
    const out = await readAllCommitted(t.output, 6);
    expect(out).toHaveLength(6);
  });

  it('aborts a failed transaction and refuses further commits; a new sink takes over', async () => {
    const t = await setup('plt-abort');
    const transactionalId = uniqueName('plt-abort-tx');
    const failing = sink(t, transactionalId);
    await failing.open();
    // The first chunk is written, the second (one record over the broker's 1 MiB) is refused.
    const records = [...batch(t, 'lost', 5), { topic: t.output, key: 'huge', value: Buffer.alloc(1_200_000) }];
    await expect(commit(failing, records, position(t, 5), t.changelog)).rejects.toMatchObject({ code: 'SLUICE_KAFKA' });
    await expect(commit(failing, batch(t, 'again', 1), position(t, 5), t.changelog)).rejects.toMatchObject({ code: 'SLUICE_KAFKA' });
    await failing.close();

    const next = sink(t, transactionalId);
    await next.open();
    await commit(next, batch(t, 'kept', 5), position(t, 5), t.changelog);
    const out = await readAllCommitted(t.output, 5);
    expect(out.map((m) => m.value!.split('-')[0])).toEqual(Array(5).fill('kept'));
    expect(await eventually(() => committedOffset(t), '5')).toBe('5');
  });

  it('splits a batch larger than a produce request into several sends of one transaction', async () => {
    const t = await setup('plt-large');
    const s = sink(t, uniqueName('plt-large-tx'));
    await s.open();
    // 2000 outputs of 600 bytes and 2000 changelog records: about 1.5 MiB, two produce requests
    const records = batch(t, 'big', 2000, 600);
    const end = await commit(s, records, position(t, 2000), t.changelog);
    expect(end).toBe('2001');
    expect(await eventually(() => changelogHigh(t), end)).toBe(end);
    expect(await eventually(() => committedOffset(t), '2000')).toBe('2000');
    const out = await readAllCommitted(t.output, 2000);
    expect(out).toHaveLength(2000);
    expect(new Set(out.map((m) => m.value)).size).toBe(2000);
  });
});
