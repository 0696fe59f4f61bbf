// The ownership directory on the real broker: two instances of one pipeline in this process (as on
// two machines: own HTTP port, own state directory), each serving HTTP and so following the owners
// topic. Once the group has spread the partitions, both directories name the instance whose lane
// is open, for source lanes (the input) and merge lanes (a cross-partition window's partials)
// alike; once one instance leaves, the survivor's directory names itself everywhere.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/kafka-broker.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';
import { startPipeline } from '../../src/entry/app.ts';
import type { RunningPipeline } from '../../src/entry/app.ts';
import { createLogger } from '../../src/log.ts';
import { partialsTopic } from '../../src/model/naming.ts';
import { KAFKA_CLIENTS, brokers, createTopics, readToEnd, uniqueName } from '../helpers/kafka.ts';

const PARTITIONS = 4;
const log = createLogger('warn', 'ownership-test');

async function instanceConfig(client: string, appId: string, input: string): Promise<SluiceConfig> {
  return parseConfig({
    kafka: { brokers: brokers(), client, clientId: 'sluice-test', sessionTimeout: '6s' },
    application: { id: appId, stateDir: mkdtempSync(join(tmpdir(), 'sluice-owners-')) },
    input: { topic: input, key: 'playerId', eventTime: { field: 'ts' } },
    windows: [
      { name: 'per_player', groupBy: ['playerId'], tumbling: '1m', aggregates: { n: 'count()' } },
      { name: 'per_region', groupBy: ['region'], tumbling: '1m', aggregates: { n: 'count()' } },
    ],
    output: { topic: `${appId}-out` },
    deadLetter: { topic: `${appId}-dlq` },
    http: { port: await freePort() },
  });
}

const split = (id: string): [string, number] => {
  const at = id.lastIndexOf('/');
  return [id.slice(0, at), Number(id.slice(at + 1))];
};

/** Each instance's open lanes, and where either directory says each of them is; undefined when it does not match. */
function mismatches(instances: readonly RunningPipeline[], lanes: readonly string[]): string[] {
  const wrong: string[] = [];
  for (const id of lanes) {
    const owner = instances.find((p) => p.openLanes().includes(id));
    if (owner === undefined) {
      wrong.push(`${id}: no lane open`);
      continue;
    }
    for (const reader of instances) {
      const named = reader.owners!.ownerOf(...split(id))?.url;
      if (named !== owner.owners!.self) wrong.push(`${id}: ${reader.owners!.self} says ${named ?? 'nothing'}, open on ${owner.owners!.self}`);
    }
  }
  return wrong;
}

async function until(what: string, check: () => string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wrong = check();
    if (wrong.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s: ${wrong.join('; ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(KAFKA_CLIENTS)('ownership directory on %s', (client) => {
  it('names the instance whose lane is open for every partition, in both instances, and the survivor after one leaves', async () => {
    const appId = uniqueName('owners');
    const input = `${appId}-in`;
    await createTopics([{ topic: input, numPartitions: PARTITIONS }]);
    const lanes = [input, partialsTopic(appId, 'per_region')].flatMap((topic) => Array.from({ length: PARTITIONS }, (_, p) => `${topic}/${p}`));
    const a = await startPipeline(await instanceConfig(client, appId, input), log);
    let b: RunningPipeline | undefined;
    try {
      expect(a.owners?.self).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await until('A never announced all its lanes', () => mismatches([a], lanes));

      const second = await startPipeline(await instanceConfig(client, appId, input), log);
      b = second;
      const both = [a, second];
      expect(second.owners!.self).not.toBe(a.owners!.self);
      await until('the partitions never spread over both instances, each named by both directories', () => [
        ...(a.openLanes().length === 0 || second.openLanes().length === 0 ? [`A has ${a.openLanes().length} lanes, B ${second.openLanes().length}`] : []),
        ...mismatches(both, lanes),
      ]);
      // Each lane is open on one instance only, and each instance's lanes are the ones named after it.
      const owned = (p: RunningPipeline) => lanes.filter((id) => p.owners!.ownerOf(...split(id))?.url === p.owners!.self).sort();
      expect(owned(a)).toEqual([...a.openLanes()].sort());
      expect(owned(second)).toEqual([...second.openLanes()].sort());

      await a.stop();
      const survivor = second;
      await until('the survivor never named itself for every partition', () => mismatches([survivor], lanes));
      expect(lanes.filter((id) => survivor.owners!.ownerOf(...split(id))?.url !== survivor.owners!.self)).toEqual([]);

      // What is on the topic: keyed <topic>/<partition>, the URL of one of the two instances and a time.
      const records = await readToEnd(`${appId}-owners`);
      expect(new Set(records.map((r) => r.key))).toEqual(new Set(lanes));
      for (const r of records) {
        const value = JSON.parse(r.value ?? 'null') as { url: string; at: number };
        expect([a.owners!.self, survivor.owners!.self]).toContain(value.url);
        expect(value.at).toBeGreaterThan(Date.now() - 600_000);
      }
    } finally {
      await a.stop();
      await b?.stop();
    }
  });
});
