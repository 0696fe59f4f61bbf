// Writes grafana/*.json from scripts/grafana/dashboards.ts. `--check` writes nothing and exits 1
// when a committed dashboard differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboardFiles } from './grafana/dashboards.ts';

const root = new URL('..', import.meta.url);
let stale = 0;
for (const { path, content } of dashboardFiles()) {
  const target = fileURLToPath(new URL(path, root));
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // not written yet
  }
  if (current === content) continue;
  if (process.argv.includes('--check')) {
    stale++;
    console.error(`${path} is out of date; run: node scripts/gen-dashboards.ts`);
  } else {
    writeFileSync(target, content);
    console.log(`wrote ${path}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
