// `node bench/report/rechart.ts bench/results/<run>.json ...`: redraws the SVG beside each results file,
// e.g. after a change to the chart, without running the benchmark again.
import { readFileSync, writeFileSync } from 'node:fs';
import { chartOf } from './run-chart.ts';
import type { Results } from './results.ts';

for (const path of process.argv.slice(2)) {
  const svg = path.replace(/\.json$/, '.svg');
  writeFileSync(svg, await chartOf(JSON.parse(readFileSync(path, 'utf8')) as Results));
  console.log(`wrote ${svg}`);
}
