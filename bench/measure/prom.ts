// Just enough of the Prometheus text format to read sluice's /metrics, and the histogram
// arithmetic the report is built from: deltas between two scrapes and bucket-interpolated
// quantiles (what PromQL's histogram_quantile does).

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of every series named `name` whose labels include `match`. */
export function total(series: readonly Series[], name: string, match: Record<string, string> = {}): number {
  let n = 0;
  for (const s of series) {
    if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) n += s.value;
  }
  return n;
}

/** Cumulative counts per upper bound, as exposed; the last bound is +Infinity. */
export interface Histogram {
  bounds: number[];
  cumulative: number[];
  sum: number;
  count: number;
}

export const EMPTY_HISTOGRAM: Histogram = { bounds: [], cumulative: [], sum: 0, count: 0 };

/** The histogram `name`, summed over every label set that includes `match`. */
export function histogram(series: readonly Series[], name: string, match: Record<string, string> = {}): Histogram {
  const byBound = new Map<number, number>();
  let sum = 0;
  let count = 0;
  const matches = (s: Series) => Object.entries(match).every(([k, v]) => s.labels[k] === v);
  for (const s of series) {
    if (!matches(s)) continue;
    if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      byBound.set(le, (byBound.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_sum`) sum += s.value;
    else if (s.name === `${name}_count`) count += s.value;
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, cumulative: bounds.map((b) => byBound.get(b)!), sum, count };
}

/** Label values of `label` among the series named `name`. */
export function labelValues(series: readonly Series[], name: string, label: string): string[] {
  return [...new Set(series.filter((s) => s.name === name && s.labels[label] !== undefined).map((s) => s.labels[label]!))].sort();
}

/** What was observed between scrape `a` and the later scrape `b`. */
export function delta(a: Histogram, b: Histogram): Histogram {
  if (a.bounds.length === 0) return b;
  return {
    bounds: b.bounds,
    cumulative: b.cumulative.map((c, i) => c - (a.cumulative[i] ?? 0)),
    sum: b.sum - a.sum,
    count: b.count - a.count,
  };
}

/**
 * The q-quantile, linearly interpolated inside the bucket that holds it (the lowest bucket from
 * 0). A quantile that falls in the +Inf bucket is reported as the largest finite bound: "at
 * least that". undefined when nothing was observed.
 */
export function quantile(h: Histogram, q: number): number | undefined {
  const n = h.cumulative.at(-1) ?? 0;
  if (n <= 0) return undefined;
  const rank = q * n;
  for (let i = 0; i < h.bounds.length; i++) {
    const c = h.cumulative[i]!;
    if (c < rank) continue;
    const upper = h.bounds[i]!;
    const lower = i === 0 ? 0 : h.bounds[i - 1]!;
    if (!Number.isFinite(upper)) return lower;
    const below = i === 0 ? 0 : h.cumulative[i - 1]!;
    const inBucket = c - below;
    return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  }
  return h.bounds.at(-2);
}

/** The upper bound of the highest non-empty bucket: the max, to bucket resolution. */
export function bucketMax(h: Histogram): number | undefined {
  for (let i = h.bounds.length - 1; i >= 0; i--) {
    const below = i === 0 ? 0 : h.cumulative[i - 1]!;
    if (h.cumulative[i]! - below > 0) {
      const upper = h.bounds[i]!;
      return Number.isFinite(upper) ? upper : h.bounds[i - 1];
    }
  }
  return undefined;
}
