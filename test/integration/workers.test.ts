// `workers: 2`: two worker threads in one `sluice run` process, each a group member with its own
// lanes. The partitions spread over both, the metrics endpoint sums them, and the output is exact.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/kafka-broker.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';
import { KAFKA_CLIENTS } from '../helpers/kafka.ts';

function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe.each(KAFKA_CLIENTS)('worker threads on %s', (client) => {
  it('spread partitions over two workers in one process and sum their metrics', async () => {
    const s = await createScenario({ client,  name: 'workers', partitions: 4, events: 8_000, seed: 21 });
    const port = await freePort();
    appendFileSync(s.configFile, `workers: 2\nhttp: { port: ${port} }\n`);
    await produce(s);
    const p = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice.log'));
    try {
      await waitForLog(p, /2 workers running/, 90_000);
      await waitUntilProcessed(s);
      // The first worker may drain a small backlog before the group hands the second one its
      // partitions; the second still has to open lanes for them.
      await waitForLog(p, /sluice\[w0\]: partition \d: lane open/, 30_000);
      await waitForLog(p, /sluice\[w1\]: partition \d: lane open/, 30_000);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metricSum(metrics, 'sluice_records_in_total')).toBe(s.records.length);
      await expectOracleOutput(s);
    } finally {
      p.child.kill('SIGTERM');
      const exit = await p.exited;
      expect(exit.code, p.log()).toBe(0);
    }
  });
});
