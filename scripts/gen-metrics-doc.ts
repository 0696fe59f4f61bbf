// Regenerates docs/metrics.md from the metric definitions. `--check` writes nothing and exits 1
// when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { metricCatalog, metricsDocMarkdown } from '../src/observability/metrics-doc.ts';

const target = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));
const content = metricsDocMarkdown(await metricCatalog());
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // not written yet
}
if (current === content) console.log('docs/metrics.md is up to date');
else if (process.argv.includes('--check')) {
  console.error('docs/metrics.md is out of date; run: node scripts/gen-metrics-doc.ts');
  process.exitCode = 1;
} else {
  writeFileSync(target, content);
  console.log('wrote docs/metrics.md');
}
// The allocation meter's timer is unref'd, but the GC observer of the default metrics is not.
process.exit();
