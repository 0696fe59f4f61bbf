import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metricCatalog, metricsDocMarkdown, parseMetricsDoc } from '../../../src/observability/metrics-doc.ts';

describe('docs/metrics.md', () => {
  it('is generated from the metric definitions (regenerate with: node scripts/gen-metrics-doc.ts)', async () => {
    expect(readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8')).toBe(metricsDocMarkdown(await metricCatalog()));
  });

  it('reads back as the catalog it was generated from', async () => {
    const catalog = await metricCatalog();
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(parseMetricsDoc(metricsDocMarkdown(catalog)).sort(byName)).toEqual(catalog);
    expect(catalog.find((m) => m.name === 'nodejs_gc_duration_seconds')).toMatchObject({ type: 'histogram', labels: ['kind', 'application'] });
  });
});
