// docs/metrics.md is generated from the metric definitions themselves (createMetrics' registry),
// so the list cannot drift from the code; the integration test (test/integration/metrics-scrape)
// reads it back and checks that a running instance exposes exactly it.
import { GC_DURATION_BUCKETS, createMetrics } from './metrics.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricDoc {
  name: string;
  type: MetricType;
  /** label names a sample carries, `application` included; `le` of histogram buckets not */
  labels: string[];
  help: string;
}

/** Every metric a pipeline's registry exposes, sorted by name: sluice's own and prom-client's process and Node.js metrics. */
export async function metricCatalog(): Promise<MetricDoc[]> {
  const metrics = createMetrics({ application: 'doc' });
  const docs: MetricDoc[] = [];
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const { labelNames } = metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames: string[] };
    docs.push({ name: metric.name, type: String(metric.type) as MetricType, labels: [...labelNames, 'application'], help: metric.help });
  }
  return docs.sort((a, b) => a.name.localeCompare(b.name));
}

const row = (m: MetricDoc) => `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${m.help.replaceAll('|', '\\|')} |`;
const HEADER = ['| Metric | Type | Labels | Description |', '| --- | --- | --- | --- |'];

export function metricsDocMarkdown(catalog: readonly MetricDoc[]): string {
  const own = catalog.filter((m) => m.name.startsWith('sluice_'));
  const runtime = catalog.filter((m) => !m.name.startsWith('sluice_'));
  return `<!-- Generated from src/observability/metrics.ts by scripts/gen-metrics-doc.ts; do not edit by hand. -->
# Metrics

sluice serves these in the Prometheus text format at \`/metrics\` (see the README's Operate
section for the port). This list is generated from the metric definitions, and an integration
test scrapes a running instance, single-process and on worker threads, and fails if it exposes a
metric not listed here or one with another type or other labels.

Every sample carries \`application\` (the pipeline's \`application.id\`). \`partition\` is the
input partition number of a source lane, or \`<window>-merge/<partition>\` for the merge lane of
a cross-partition window (\`sluice_aborts_total\` names the lane \`<topic>/<partition>\`).
Histograms also have \`le\` on their \`_bucket\` series. Per-lane gauges (state, restore, paused,
stream time) exist only while this instance owns the lane: when a partition moves, its new owner
reports it.

With \`workers: N\` the main thread serves the workers' metrics summed: counters, histograms and
per-lane gauges add up (each lane lives in one worker), the event-loop lag is averaged, and the
\`process_*\` metrics, which each worker reads for the whole process, are taken once (the
largest), not added up.

## sluice

${[...HEADER, ...own.map(row)].join('\n')}

## Process and Node.js (prom-client default metrics)

\`nodejs_gc_duration_seconds\` has buckets at ${GC_DURATION_BUCKETS.map((s) => (s < 1 ? `${s * 1000} ms` : `${s} s`)).join(', ')},
so the pauses that matter for a 50 ms latency target are told apart.
\`process_open_fds\`, \`process_max_fds\`, \`process_virtual_memory_bytes\` and
\`process_heap_bytes\` are read from \`/proc\` (Linux).

${[...HEADER, ...runtime.map(row)].join('\n')}
`;
}

/** Reads the tables of docs/metrics.md back: what the scrape test holds a running instance to. */
export function parseMetricsDoc(markdown: string): MetricDoc[] {
  const docs: MetricDoc[] = [];
  for (const line of markdown.split('\n')) {
    const m = /^\| `([a-z_:][a-z0-9_:]*)` \| (counter|gauge|histogram|summary) \| (.*?) \| (.*) \|$/.exec(line);
    if (m === null) continue;
    docs.push({ name: m[1]!, type: m[2] as MetricType, labels: [...m[3]!.matchAll(/`([^`]+)`/g)].map((l) => l[1]!), help: m[4]!.replaceAll('\\|', '|') });
  }
  return docs;
}
