// `sluice run` as a child process, SIGKILLed at random instants (during startup, restore, or
// mid-transaction) while input keeps arriving, and restarted each time. Whatever instant the
// kill lands on, the committed output must equal the oracle: no loss, no double count.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../helpers/event-stream.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import type { Scenario, ScenarioPipeline } from '../helpers/scenario.ts';
import type { KafkaClientName } from '../../src/clients/port.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a slice of input is produced in this many steps while sluice runs */
const TRICKLE_STEPS = 24;

/**
 * How each partition's lane first opened in a run's log: after a kill, that is the state the
 * killed process left. `none` means its store was current; `replay` (or `full`) means the
 * changelog was ahead of it, so the kill landed while a transaction was open (its records are
 * aborted by fencing and replayed as a gap), between its Kafka commit and its local commit, or
 * during a restore.
 */
function firstOpens(log: string): Map<string, string> {
  const modes = new Map<string, string>();
  for (const m of log.matchAll(/partition (\d+): lane open, restore=(\w+)/g)) if (!modes.has(m[1]!)) modes.set(m[1]!, m[2]!);
  return modes;
}

/**
 * `reasons`: dead-letter reasons the stream must produce, and `premise` what else it must hold, so
 * the run checks what it claims to
 */
type CrashRun = { pipeline: ScenarioPipeline; events: number; kills: number; seed: number; reasons?: string[]; premise?: (s: Scenario) => void };

/**
 * Produces the scenario's input in kills + 1 slices, SIGKILLing a `sluice run` during each of the
 * first `kills` (see below), then lets a last run finish; the output must equal the oracle.
 */
async function crashAndCompare(client: KafkaClientName, { pipeline, events, kills, seed, reasons = [], premise }: CrashRun): Promise<void> {
  const s = await createScenario({ client, name: `crash-${pipeline}`, pipeline, partitions: 4, events, seed });
  for (const reason of reasons) expect([...s.oracle.deadLetters.values()], `the stream has ${reason} dead letters`).toContain(reason);
  premise?.(s);
  const rng = mulberry32(99);
  const slices = kills + 1;
  const per = Math.ceil(s.records.length / slices);
  const killedAt: string[] = [];
  const logs: string[] = [];

  for (let k = 0; k < kills; k++) {
    const slice = s.records.slice(k * per, (k + 1) * per);
    // The first kill lands anywhere from "still joining / restoring" on, over a backlog.
    if (k === 0) await produce(s, slice);
    const p = runSluice(['run', '--config', s.configFile], join(s.dir, `sluice-${k}.log`));
    await waitForLog(p, /pipeline .* running/, 90_000);
    let rest: typeof slice = [];
    if (k === 0) {
      const delay = Math.floor(rng() * 2500);
      await sleep(delay);
      killedAt.push(`${delay}ms`);
    } else {
      // The others land while the slice trickles in to open lanes, so that batches are in
      // flight at the kill however fast the backlog drains (and however long the group took
      // to evict the killed member, which kafkajs waits out for a session timeout).
      await waitForLog(p, /lane open/, 90_000);
      const step = Math.ceil(slice.length / TRICKLE_STEPS);
      const killAfter = 4 + Math.floor(rng() * (TRICKLE_STEPS - 8));
      for (let i = 0; i < killAfter; i++) {
        await produce(s, slice.slice(i * step, (i + 1) * step));
        // A step takes a fast machine well under 40 ms to fetch, process and commit, so a kill
        // 40 ms after it finds the lanes between transactions. The last wait is shorter, so the
        // kill lands while the last step is fetched, processed or committed.
        await sleep(i === killAfter - 1 ? 5 + Math.floor(rng() * 25) : 40);
      }
      rest = slice.slice(killAfter * step);
      killedAt.push(`step ${killAfter}/${TRICKLE_STEPS}`);
    }
    p.child.kill('SIGKILL');
    await p.exited;
    await produce(s, rest);
    logs.push(p.log());
  }
  await produce(s, s.records.slice(kills * per));
  const last = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice-last.log'));
  try {
    await waitUntilProcessed(s, 240_000);
    const runs = [...logs, last.log()];
    // Kill k is judged by run k+1's first lane openings: a process killed while idle leaves every store current.
    const afterKill = runs.slice(1).map((log) => [...firstOpens(log)].filter(([, mode]) => mode !== 'none').map(([p, mode]) => `${p}:${mode}`));
    console.log(`[crash ${pipeline}] killed ${kills} times: after ${killedAt.join(', ')}; lanes behind the changelog after each kill: ${afterKill.map((l) => `[${l.join(' ')}]`).join(' ')}`);
    expect(afterKill.filter((l) => l.length > 0).length, 'at least one kill must land mid-transaction (the next run replays what it left)').toBeGreaterThan(0);
    // Still running: merge lanes write cross-partition finals after the input offsets are committed.
    await expectOracleOutput(s);
  } finally {
    last.child.kill('SIGTERM');
    await last.exited;
  }
}

describe.each(KAFKA_CLIENTS)('crash recovery (exactly-once) on %s', (client) => {
  it('survives 5 SIGKILLs at random points during a 50k-event run', { timeout: 420_000 }, async () => {
    await crashAndCompare(client, { pipeline: 'default', events: 50_000, kills: 5, seed: 1234 });
  });

  // Sketches, leaderboards and first/last in direct, cross-partition (partials, merge lanes) and
  // global windows, and a topK at its member limit: whatever a kill interrupts, the finals match
  // the oracle (sketches within their bounds) and every state-limit dead letter is written once.
  it('survives 5 SIGKILLs with every aggregate, across partitions too', { timeout: 480_000 }, async () => {
    await crashAndCompare(client, { pipeline: 'aggregates', events: 30_000, kills: 5, seed: 2024, reasons: ['state-limit', 'not-a-scalar'] });
  });

  it('session windows survive 5 SIGKILLs: merged sessions written once, none lost', { timeout: 480_000 }, async () => {
    await crashAndCompare(client, { pipeline: 'sessions', events: 30_000, kills: 5, seed: 4321, premise: (s) => expect(s.oracle.sessionBridges, 'the stream bridges sessions').toBeGreaterThan(0) });
  });
});
