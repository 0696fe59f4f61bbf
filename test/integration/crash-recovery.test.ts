// `sluice run` as a child process, SIGKILLed at random instants (during startup, restore, or
// mid-transaction) while input keeps arriving, and restarted each time. Whatever instant the
// kill lands on, the committed output must equal the oracle: no loss, no double count.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../helpers/event-stream.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(KAFKA_CLIENTS)('crash recovery (exactly-once) on %s', (client) => {
  it('survives 5 SIGKILLs at random points during a 50k-event run', async () => {
    const s = await createScenario({ client,  name: 'crash', partitions: 4, events: 50_000, seed: 1234 });
    const rng = mulberry32(99);
    const kills = 5;
    const slices = kills + 1;
    const per = Math.ceil(s.records.length / slices);
    const killedAt: string[] = [];
    const logs: string[] = [];

    for (let k = 0; k < kills; k++) {
      await produce(s, s.records.slice(k * per, (k + 1) * per));
      const p = runSluice(['run', '--config', s.configFile], join(s.dir, `sluice-${k}.log`));
      await waitForLog(p, /pipeline .* running/, 90_000);
      // Anywhere from "still joining / restoring" to "deep in a batch".
      const delay = Math.floor(rng() * 2500);
      await sleep(delay);
      p.child.kill('SIGKILL');
      await p.exited;
      killedAt.push(`${delay}ms`);
      logs.push(p.log());
    }
    await produce(s, s.records.slice(kills * per));
    const last = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice-last.log'));
    try {
      await waitUntilProcessed(s, 240_000);
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }
    const log = [...logs, last.log()].join('\n');
    console.log(`[crash] killed ${kills} times after ${killedAt.join(', ')}; restores: ${(log.match(/restored \((replay|full)\)/g) ?? []).length} (replay ${(log.match(/restored \(replay\)/g) ?? []).length})`);
    expect(killedAt).toHaveLength(5);
    await expectOracleOutput(s);
  });
});
