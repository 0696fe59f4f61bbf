// docs/metrics.md is the list of what sluice exposes: scrape a running instance (single-process,
// and on worker threads, whose metrics the main thread sums) with events flowing, and hold the
// exposition to it: every documented metric is there with its documented type, every sample has
// exactly the documented labels, and nothing undocumented is exposed.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMetricsDoc } from '../../src/observability/metrics-doc.ts';
import type { MetricDoc } from '../../src/observability/metrics-doc.ts';
import { expectOracleOutput } from '../helpers/scenario.ts';
import { startRunningSluice } from '../helpers/running-sluice.ts';
import { runSluice, waitForLog } from '../helpers/sluice-process.ts';

const documented = parseMetricsDoc(readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8'));

/**
 * Documented metrics that only get samples when something happens that this pipeline and stream
 * do not do; their TYPE line is still required. Everything else must have samples.
 */
const NO_SAMPLES_HERE: ReadonlyMap<string, string> = new Map([
  ['sluice_aborts_total', 'no batch fails'],
  ['sluice_enrich_misses_total', 'no enrichment'],
  ['sluice_table_records_total', 'no reference tables'],
  ['sluice_table_skipped_records_total', 'no reference tables'],
  ['sluice_restored_records_total', 'a new application restores nothing (the restart below does)'],
  ['nodejs_active_requests', 'libuv requests in flight at the instant of the scrape: usually none'],
]);

interface Exposition {
  types: Map<string, string>;
  samples: { name: string; labels: Map<string, string>; value: number }[];
}

/** The Prometheus text format, as far as prom-client writes it. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Exposition['samples'] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
    } else if (line !== '' && !line.startsWith('#')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (m === null) throw new Error(`not a sample line: ${line}`);
      const labels = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
      samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }
  return { types, samples };
}

/** The metric a sample belongs to: a histogram's _bucket, _sum and _count are its series. */
function metricOf(sample: string, types: ReadonlyMap<string, string>): string {
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  return base !== sample && types.get(base) === 'histogram' ? base : sample;
}

function expectExpositionMatchesDocs(text: string, docs: readonly MetricDoc[]): void {
  const { types, samples } = parseExposition(text);
  const byName = new Map(docs.map((d) => [d.name, d]));
  expect([...types.keys()].filter((n) => !byName.has(n)), 'exposed but not in docs/metrics.md').toEqual([]);
  expect(docs.filter((d) => !types.has(d.name)).map((d) => d.name), 'in docs/metrics.md but not exposed').toEqual([]);
  expect(docs.filter((d) => types.get(d.name) !== d.type).map((d) => `${d.name}: documented ${d.type}, exposed ${types.get(d.name)}`)).toEqual([]);
  const wrongLabels = new Set<string>();
  const sampled = new Set<string>();
  for (const s of samples) {
    const metric = metricOf(s.name, types);
    const doc = byName.get(metric);
    if (doc === undefined) {
      wrongLabels.add(`${s.name}: a sample of no documented metric`);
      continue;
    }
    sampled.add(metric);
    const names = [...s.labels.keys()].filter((l) => !(l === 'le' && s.name.endsWith('_bucket'))).sort();
    if (names.join() !== [...doc.labels].sort().join()) wrongLabels.add(`${s.name}: labels ${names.join(',')}, documented ${doc.labels.join(',')}`);
  }
  expect([...wrongLabels]).toEqual([]);
  expect(docs.filter((d) => !sampled.has(d.name) && !NO_SAMPLES_HERE.has(d.name)).map((d) => d.name), 'documented metrics without a sample').toEqual([]);
}

/** What one sample reads, or undefined. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return parseExposition(text).samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels.get(k) === v))?.value;
}

describe.each([
  { mode: 'single-process', workers: 1 },
  { mode: 'two worker threads', workers: 2 },
])('the metrics a running instance exposes ($mode)', ({ workers }) => {
  it('are exactly docs/metrics.md, with the documented types and labels', async () => {
    expect(documented.length).toBeGreaterThan(50);
    const sluice = await startRunningSluice({ name: `metrics-${workers}`, workers, partitions: 2 });
    try {
      await sluice.produceSlice();
      await sluice.waitUntilProcessed();
      await expectOracleOutput(sluice.scenario);
      const text = await sluice.scrape();
      expectExpositionMatchesDocs(text, documented);

      // The new metrics say something true of this run, not only that they exist.
      const s = sluice.scenario;
      expect(valueOf(text, 'sluice_state_entries', { partition: '0', store: 'dedupe' })).toBeGreaterThan(0);
      expect(valueOf(text, 'sluice_state_bytes', { partition: '0', store: 'dedupe' })).toBeGreaterThanOrEqual(4096);
      expect(valueOf(text, 'sluice_state_file_bytes', { partition: '0' })).toBeGreaterThanOrEqual(4096);
      expect(valueOf(text, 'sluice_restore_remaining_records', { partition: '0' })).toBe(0);
      expect(valueOf(text, 'sluice_partition_paused', { partition: '0' })).toBe(0);
      const closed = parseExposition(text).samples.filter((x) => x.name === 'sluice_windows_closed_total').reduce((n, x) => n + x.value, 0);
      expect(closed, 'every final written is a closed window').toBe(s.oracle.finals.size);
      expect(valueOf(text, 'nodejs_gc_duration_seconds_bucket', { le: '0.0005' })).toBeDefined();
      // Worker threads each read the whole process's RSS: served once, not summed.
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${sluice.process.child.pid}/status`, 'utf8'))![1]) * 1024;
      expect(valueOf(text, 'process_resident_memory_bytes')! / rss).toBeLessThan(1.5);

      if (workers === 1) {
        // Restarted without its local state, the instance restores it whole from the changelog.
        expect(await sluice.stop(), sluice.process.log()).toBe(0);
        rmSync(join(s.dir, 'state'), { recursive: true, force: true });
        const again = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice-restarted.log'));
        try {
          await waitForLog(again, /partition 0: lane open, restore=full/, 120_000);
          await waitForLog(again, /partition 1: lane open, restore=full/, 60_000);
          const restored = await (await fetch(sluice.url)).text();
          for (const partition of ['0', '1']) {
            expect(valueOf(restored, 'sluice_restored_records_total', { partition, mode: 'full' })).toBeGreaterThan(0);
            expect(valueOf(restored, 'sluice_restore_remaining_records', { partition })).toBe(0);
            expect(valueOf(restored, 'sluice_state_entries', { partition, store: 'dedupe' })).toBe(valueOf(text, 'sluice_state_entries', { partition, store: 'dedupe' }));
          }
        } finally {
          again.child.kill('SIGTERM');
          expect((await again.exited).code, again.log()).toBe(0);
        }
      }
    } finally {
      expect(await sluice.stop(), sluice.process.log()).toBe(0);
    }
  });
});
