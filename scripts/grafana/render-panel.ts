// One dashboard panel's data (Prometheus range-query results) drawn as a PNG for the docs: vega-lite
// renders SVG headless, and rsvg-convert (Debian's librsvg2-bin) rasterizes it.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export interface PanelData {
  title: string;
  subtitle: string;
  /** the panel's Grafana unit: `s` is drawn in milliseconds */
  unit: 's' | 'short';
  series: { name: string; points: { at: number; value: number }[] }[];
}

export async function renderPanelPng(panel: PanelData, file: string): Promise<void> {
  const ms = panel.unit === 's';
  const values = panel.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.value)).map((p) => ({ series: s.name, at: p.at, value: ms ? p.value * 1000 : p.value })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: panel.title, subtitle: panel.subtitle, anchor: 'start', color: '#ccccdc', subtitleColor: '#8e8e8e', fontSize: 14 },
    background: '#181b1f',
    width: 900,
    height: 260,
    config: { font: 'sans-serif', view: { stroke: '#2c3235' }, axis: { gridColor: '#2c3235', domainColor: '#2c3235', labelColor: '#ccccdc', titleColor: '#ccccdc' }, legend: { labelColor: '#ccccdc', titleColor: '#ccccdc', orient: 'bottom' } },
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'at', type: 'temporal', title: null, axis: { format: '%H:%M:%S' } },
      y: { field: 'value', type: 'quantitative', title: ms ? 'ms' : null },
      color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a'] } },
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const png = spawnSync('rsvg-convert', ['--format=png', '--zoom=1.5'], { input: svg, maxBuffer: 64 * 1024 * 1024 });
  if (png.error !== undefined || png.status !== 0) throw new Error(`rsvg-convert (Debian: apt-get install librsvg2-bin) failed: ${png.error?.message ?? png.stderr.toString()}`);
  writeFileSync(file, png.stdout);
}
