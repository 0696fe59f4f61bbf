// The JSON scaffolding of Grafana (10.4+, schemaVersion 39) dashboards, so that
// scripts/grafana/dashboards.ts can say only what each panel shows.

export interface Target {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  kind: 'stat' | 'timeseries';
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  /** grid width out of 24; stats default to 6, time series to 12 */
  width?: number;
  /** time series only: stack the series */
  stacked?: boolean;
  /** stat only: red above this */
  redAbove?: number;
}

export interface RowSpec {
  row: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  rows: RowSpec[];
  /** whether the `partition` variable applies (panels of process metrics ignore it) */
  partitionVariable: boolean;
  /** the other dashboards, linked from each */
  links: { title: string; uid: string }[];
}

const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

/** Every sluice series selected by the dashboard's variables. */
export const SEL = 'application=~"$application"';
export const SEL_P = 'application=~"$application", partition=~"$partition"';

function thresholds(redAbove?: number) {
  const steps: { color: string; value: number | null }[] = [{ color: 'green', value: null }];
  if (redAbove !== undefined) steps.push({ color: 'red', value: redAbove });
  return { mode: 'absolute', steps };
}

function panelJson(p: PanelSpec, id: number, gridPos: { h: number; w: number; x: number; y: number }) {
  const targets = p.targets.map((t, i) => ({ datasource: DATASOURCE, expr: t.expr, legendFormat: t.legend ?? '', refId: String.fromCharCode(65 + i), range: true }));
  const base = { type: p.kind, title: p.title, description: p.description, id, datasource: DATASOURCE, gridPos };
  if (p.kind === 'stat') {
    return {
      ...base,
      fieldConfig: { defaults: { unit: p.unit, color: { mode: 'thresholds' }, thresholds: thresholds(p.redAbove) }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area', justifyMode: 'auto', textMode: 'auto', orientation: 'auto' },
      targets,
    };
  }
  return {
    ...base,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: p.stacked ? 40 : 10, showPoints: 'never', spanNulls: false, stacking: { mode: p.stacked ? 'normal' : 'none', group: 'A' } },
        color: { mode: 'palette-classic' },
        min: 0,
        thresholds: thresholds(),
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets,
  };
}

function variable(name: string, label: string, query: string, sort: number) {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: {},
    hide: 0,
    includeAll: true,
    allValue: '.*',
    multi: true,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort,
  };
}

export function dashboardJson(spec: DashboardSpec): object {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ type: 'row', title: row.row, id: id++, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.width ?? (p.kind === 'stat' ? 6 : 12);
      const h = p.kind === 'stat' ? 4 : 8;
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panelJson(p, id++, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  const templating = [
    { name: 'DS_PROMETHEUS', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, includeAll: false, multi: false, options: [], refresh: 1, regex: '', skipUrlSync: false },
    variable('application', 'Application', 'label_values(sluice_lanes, application)', 1),
    ...(spec.partitionVariable ? [variable('partition', 'Partition', `label_values(sluice_commits_total{${SEL}}, partition)`, 3)] : []),
  ];
  return {
    __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', description: 'Prometheus scraping sluice /metrics', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    __elements: {},
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.4.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
      { type: 'panel', id: 'stat', name: 'Stat', version: '' },
    ],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    description: spec.description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: spec.links.map((l) => ({ title: l.title, type: 'link', url: `/d/${l.uid}`, keepTime: true, includeVars: true, icon: 'dashboard', targetBlank: false, asDropdown: false, tags: [], tooltip: '' })),
    panels,
    refresh: '30s',
    schemaVersion: 39,
    tags: ['sluice', 'kafka', 'stream-processing'],
    templating: { list: templating },
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: spec.title,
    uid: spec.uid,
    version: 1,
    weekStart: '',
  };
}
