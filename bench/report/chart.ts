// The run as a picture: for each rate profile, events/s produced and processed, and below it the
// p99 latency per second, the burst shaded on both. Rendered headless with vega-lite -> vega ->
// SVG (no browser, no canvas).
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { TimelinePoint } from './analysis.ts';

/** One rate profile: its throughput and its p99, the burst shaded on both. */
export interface PanelInput {
  title: string;
  points: TimelinePoint[];
  burst: { from: number; to: number; label: string };
  /** where production stopped: after it, sluice drains what is left */
  productionEnd: number;
  drainEnd: number;
  /** dashed lines on the p99 view: the 50 ms target, twice the steady p99 */
  p99Lines: { ms: number; label: string }[];
}

export interface ChartInput {
  title: string;
  subtitle: string;
  capacity: number;
  panels: PanelInput[];
}

const WIDTH = 820;
const HEIGHT = 170;
const COLORS = { produced: '#8d99ae', processed: '#1d3557', p99: '#e63946' };

/** A dashed horizontal rule at `y` with its label at the right edge. */
function referenceLine(y: number, label: string, ruleColor: string, textColor: string) {
  return {
    data: { values: [{ y, label }] },
    layer: [
      { mark: { type: 'rule' as const, strokeDash: [4, 4], color: ruleColor }, encoding: { y: { field: 'y', type: 'quantitative' as const } } },
      { mark: { type: 'text' as const, align: 'right' as const, dy: -6, color: textColor }, encoding: { y: { field: 'y', type: 'quantitative' as const }, x: { value: WIDTH - 4 }, text: { field: 'label' } } },
    ],
  };
}

/** The burst (orange) and the drain (grey) as shaded bands, with their labels. */
function bandLayers(panel: PanelInput) {
  const bands = [
    { ...panel.burst, color: '#f4a261', text: '#b5651d' },
    { from: panel.productionEnd, to: panel.drainEnd, label: 'drain (production stopped)', color: '#adb5bd', text: '#6c757d' },
  ].filter((b) => b.to > b.from);
  const band = {
    data: { values: bands },
    mark: { type: 'rect' as const, opacity: 0.25 },
    encoding: { x: { field: 'from', type: 'quantitative' as const }, x2: { field: 'to' }, color: { field: 'color', type: 'nominal' as const, scale: null, legend: null } },
  };
  const bandLabel = {
    data: { values: bands },
    mark: { type: 'text' as const, align: 'left' as const, baseline: 'top' as const, dx: 4, dy: 4, fontWeight: 'bold' as const },
    encoding: { x: { field: 'from', type: 'quantitative' as const }, y: { value: 0 }, text: { field: 'label' }, color: { field: 'text', type: 'nominal' as const, scale: null, legend: null } },
  };
  return [band, bandLabel];
}

function xOf(panel: PanelInput) {
  const end = Math.max(panel.drainEnd, ...panel.points.map((p) => p.x));
  return { field: 'x', type: 'quantitative' as const, title: 'seconds since the profile started', scale: { domain: [0, Math.ceil(end)], nice: false } };
}

function throughputView(panel: PanelInput, capacity: number) {
  const x = xOf(panel);
  const throughput = panel.points.filter((p) => p.series !== 'p99');
  // Labels at the end of each line rather than a legend: they read at a glance, in any viewer.
  const lineLabels = (['produced', 'processed'] as const).flatMap((series) => {
    const last = throughput.filter((p) => p.series === series).at(-1);
    return last ? [{ ...last, color: COLORS[series] }] : [];
  });
  return {
    title: { text: panel.title, anchor: 'start' as const, fontSize: 13 },
    width: WIDTH,
    height: HEIGHT,
    // The bands colour themselves; only the throughput lines get a legend.
    resolve: { scale: { color: 'independent' as const }, legend: { color: 'independent' as const } },
    layer: [
      ...bandLayers(panel),
      referenceLine(capacity, `capacity ${Math.round(capacity)}/s (backlog drain)`, '#2a9d8f', '#2a9d8f'),
      {
        data: { values: throughput },
        mark: { type: 'line' as const, interpolate: 'step-before' as const, strokeWidth: 1.8 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative' as const, title: 'events/s' },
          color: { field: 'series', type: 'nominal' as const, title: null, scale: { domain: ['produced', 'processed'], range: [COLORS.produced, COLORS.processed] }, legend: null },
        },
      },
      {
        data: { values: lineLabels },
        mark: { type: 'text' as const, align: 'left' as const, dx: 4, fontWeight: 'bold' as const },
        encoding: { x, y: { field: 'value', type: 'quantitative' as const }, text: { field: 'series' }, color: { field: 'color', type: 'nominal' as const, scale: null, legend: null } },
      },
    ],
  };
}

function latencyView(panel: PanelInput) {
  const p99 = panel.points.filter((p) => p.series === 'p99' && p.value > 0);
  return {
    width: WIDTH,
    height: HEIGHT,
    resolve: { scale: { color: 'independent' as const }, legend: { color: 'independent' as const } },
    layer: [
      ...bandLayers(panel),
      ...panel.p99Lines.map((l) => referenceLine(l.ms, l.label, '#999', '#777')),
      {
        data: { values: p99 },
        mark: { type: 'line' as const, interpolate: 'step-before' as const, color: COLORS.p99, strokeWidth: 1.8, point: { size: 12, color: COLORS.p99 } },
        encoding: {
          x: xOf(panel),
          y: { field: 'value', type: 'quantitative' as const, title: 'p99, append -> commit (ms, log)', scale: { type: 'log' as const } },
        },
      },
    ],
  };
}

/** Per profile, events/s over p99; each profile on its own time axis. */
export function chartSpec(input: ChartInput): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: input.title, subtitle: input.subtitle, anchor: 'start' },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { grid: true, gridColor: '#eee' } },
    background: 'white',
    resolve: { scale: { x: 'independent', y: 'independent' } },
    vconcat: input.panels.flatMap((panel) => [throughputView(panel, input.capacity), latencyView(panel)]),
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    // Group backgrounds inherit fill="none" from vega's root group; ImageMagick's own SVG
    // renderer does not inherit it and paints them black, so say it on each of them.
    return (await view.toSVG()).replace(/<path class="background"(?![^>]*\sfill=)/g, '<path class="background" fill="none"');
  } finally {
    view.finalize();
  }
}
