// The Grafana dashboards against a real Prometheus (Debian's package) scraping a running sluice
// with events flowing: every panel's PromQL parses and returns data, and every template
// variable has values. CI sets SLUICE_REQUIRE_PROMETHEUS=1 (and installs the package), so a
// missing Prometheus fails there; elsewhere the test is skipped without one.
//
// SLUICE_RENDER_PANEL=<file.png> also renders one panel's data over a longer run to that file
// (npm run docs:panel), the picture the README shows.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboardFiles } from '../../scripts/grafana/dashboards.ts';
import { renderPanelPng } from '../../scripts/grafana/render-panel.ts';
import { prometheusBinary, startPrometheus } from '../../scripts/prometheus.ts';
import type { Prometheus } from '../../scripts/prometheus.ts';
import { startRunningSluice } from '../helpers/running-sluice.ts';

const binary = prometheusBinary();
const required = process.env.SLUICE_REQUIRE_PROMETHEUS === '1';
const renderTo = process.env.SLUICE_RENDER_PANEL;
const RENDERED_PANEL = { dashboard: 'sluice-overview', title: 'Event latency p50 / p99' };

interface Dashboard {
  uid: string;
  panels: { type: string; title: string; targets?: { expr: string; legendFormat: string }[] }[];
  templating: { list: { name: string; type: string; query?: { query: string } }[] };
}

const dashboards = dashboardFiles().map((f) => ({ path: f.path, json: JSON.parse(readFileSync(new URL(`../../${f.path}`, import.meta.url), 'utf8')) as Dashboard }));

/** What Grafana would put in for its variables: every application and partition, a one-minute rate window. */
function substitute(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$application', '.*').replaceAll('$partition', '.*');
}

async function queryProblems(prom: Prometheus, expr: string): Promise<string | undefined> {
  const res = await prom.api('query', { query: substitute(expr) });
  if (res.status !== 'success') return `error: ${res.error}`;
  const result = res.data?.result ?? [];
  if (result.length === 0) return 'no series';
  if (!result.some((s) => s.value !== undefined && !Number.isNaN(Number(s.value[1])))) return `only NaN: ${JSON.stringify(result).slice(0, 200)}`;
  return undefined;
}

describe('grafana dashboards', () => {
  it('are the ones scripts/gen-dashboards.ts generates (regenerate with: node scripts/gen-dashboards.ts)', () => {
    for (const f of dashboardFiles()) expect(readFileSync(new URL(`../../${f.path}`, import.meta.url), 'utf8'), f.path).toBe(f.content);
    expect(dashboards.map((d) => d.json.uid)).toEqual(['sluice-overview', 'sluice-partitions', 'sluice-state']);
  });

  it.skipIf(binary === undefined && !required)(
    'every panel query parses and returns data in a real Prometheus scraping a running sluice',
    async () => {
      expect(binary, 'prometheus is required here (SLUICE_REQUIRE_PROMETHEUS=1): apt-get install prometheus').toBeDefined();
      const slices = renderTo === undefined ? 10 : 90;
      const sluice = await startRunningSluice({ name: 'grafana', partitions: 2, events: renderTo === undefined ? 4000 : 20_000, slices });
      let prom: Prometheus | undefined;
      try {
        prom = await startPrometheus([sluice.target], binary);
        const started = Date.now() / 1000;
        // Events flow while Prometheus scrapes every second: a slice a second.
        while (await sluice.produceSlice()) await new Promise((r) => setTimeout(r, 1000));
        await sluice.waitUntilProcessed();
        // A few more scrapes after the last commit.
        await new Promise((r) => setTimeout(r, 4000));
        const up = await prom.api('query', { query: 'up{job="sluice"}' });
        expect(up.data?.result.map((r) => r.value?.[1]), prom.log().slice(-2000)).toEqual(['1']);

        const problems: string[] = [];
        let queries = 0;
        for (const { path, json } of dashboards) {
          for (const panel of json.panels) {
            for (const t of panel.targets ?? []) {
              queries++;
              const problem = await queryProblems(prom, t.expr);
              if (problem !== undefined) problems.push(`${path} "${panel.title}" ${t.expr}: ${problem}`);
            }
          }
          for (const v of json.templating.list.filter((x) => x.type === 'query')) {
            const m = /^label_values\((.+), (\w+)\)$/.exec(v.query!.query);
            if (m === null) {
              problems.push(`${path} variable ${v.name}: not label_values(selector, label)`);
              continue;
            }
            const res = await prom.api(`label/${m[2]}/values`, { 'match[]': substitute(m[1]!) });
            if (res.status !== 'success' || (res.data as unknown as string[]).length === 0) problems.push(`${path} variable ${v.name}: no values (${JSON.stringify(res)})`);
          }
        }
        expect(problems).toEqual([]);
        expect(queries).toBeGreaterThanOrEqual(40);

        if (renderTo !== undefined) {
          const panel = dashboards.find((d) => d.json.uid === RENDERED_PANEL.dashboard)!.json.panels.find((p) => p.title === RENDERED_PANEL.title)!;
          const series = [];
          for (const t of panel.targets!) {
            const res = await prom.api('query_range', { query: substitute(t.expr).replaceAll('[1m]', '[10s]'), start: String(started), end: String(Date.now() / 1000), step: '2' });
            for (const s of res.data?.result ?? []) series.push({ name: t.legendFormat.replace('{{application}} ', '').replace(/\{\{(\w+)\}\}/g, (_, l: string) => s.metric[l] ?? ''), points: (s.values ?? []).map(([at, v]) => ({ at: at * 1000, value: Number(v) })) });
          }
          const subtitle = `${sluice.scenario.records.length} events, ${sluice.scenario.partitions} partitions, one-second bursts, scraped every second`;
          await renderPanelPng({ title: `${RENDERED_PANEL.title} (sluice overview)`, subtitle, unit: 's', series }, renderTo);
        }
      } finally {
        await prom?.stop();
        expect(await sluice.stop(), sluice.process.log()).toBe(0);
      }
    },
    600_000,
  );
});
