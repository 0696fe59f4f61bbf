// Two `sluice run` processes in one group, each with its own state directory (as on two
// machines). When one leaves (SIGTERM) or dies (SIGKILL), its partitions continue on the other
// with their state (restored from the changelog unless the survivor's own store is current),
// and the output still equals the oracle.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configForInstance, createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario } from '../helpers/scenario.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import type { SluiceProcess } from '../helpers/sluice-process.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

async function startPair(s: Scenario): Promise<[SluiceProcess, SluiceProcess]> {
  const a = runSluice(['run', '--config', configForInstance(s, 'a')], join(s.dir, 'a.log'));
  const b = runSluice(['run', '--config', configForInstance(s, 'b')], join(s.dir, 'b.log'));
  // Both must own lanes before the move, or there is nothing to move.
  await waitForLog(a, /lane open/, 90_000);
  await waitForLog(b, /lane open/, 90_000);
  return [a, b];
}

async function stop(p: SluiceProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await p.exited;
}

describe.each(KAFKA_CLIENTS)('partition move between instances (exactly-once) on %s', (client) => {
  it('SIGTERM: the leaving instance commits and leaves within 10 s; the other restores its partitions', async () => {
    const s = await createScenario({ client,  name: 'move-term', partitions: 4, events: 16_000, seed: 5 });
    const half = Math.floor(s.records.length / 2);
    await produce(s, s.records.slice(0, half));
    const [a, b] = await startPair(s);
    try {
      await waitUntilProcessed(s);
      const stoppedAt = Date.now();
      const bLogBefore = b.log().length;
      a.child.kill('SIGTERM');
      const exit = await a.exited;
      const tookMs = Date.now() - stoppedAt;
      expect(exit.code, a.log()).toBe(0);
      expect(tookMs).toBeLessThan(10_000);
      expect(a.log()).toMatch(/closed: shutdown/);

      await produce(s, s.records.slice(half));
      await waitUntilProcessed(s);
      // Every partition A held at shutdown is opened by B afterwards: restored from the changelog,
      // or already current in B's own store if B had it before. The oracle proves the state.
      const held = [...a.log().matchAll(/partition (\d+): next offset .*\(closed: shutdown\)/g)].map((m) => m[1]);
      expect(held.length).toBeGreaterThan(0);
      const bAfter = b.log().slice(bLogBefore);
      for (const p of held) expect(bAfter, `B opens partition ${p} after A left`).toMatch(new RegExp(`partition ${p}: lane open`));
      await expectOracleOutput(s);
    } finally {
      await stop(a);
      await stop(b);
    }
  });

  it('SIGKILL: the dead instance\'s partitions continue on the other from the changelog', async () => {
    const s = await createScenario({ client,  name: 'move-kill', partitions: 4, events: 16_000, seed: 6 });
    const third = Math.floor(s.records.length / 3);
    await produce(s, s.records.slice(0, third));
    const [a, b] = await startPair(s);
    try {
      await waitUntilProcessed(s);
      await produce(s, s.records.slice(third, 2 * third));
      await new Promise((r) => setTimeout(r, 300));
      const bLogBefore = b.log().length;
      a.child.kill('SIGKILL');
      await a.exited;
      await produce(s, s.records.slice(2 * third));
      await waitUntilProcessed(s);
      // B takes over the dead instance's partitions once its session times out.
      expect(b.log().slice(bLogBefore)).toMatch(/partition \d+: lane open/);
      await expectOracleOutput(s);
    } finally {
      await stop(a);
      await stop(b);
    }
  });
});
