// Regenerates the files derived from src/config/schema.ts. `--check` writes nothing and exits 1
// when a committed file differs, for CI.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configArtifacts } from '../src/config/artifacts.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

let stale = 0;
for (const artifact of configArtifacts()) {
  const target = join(root, artifact.path);
  if (readOrEmpty(target) === artifact.content) continue;
  if (check) {
    stale += 1;
    console.error(`${artifact.path} is out of date; run: node scripts/gen-config-artifacts.ts`);
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, artifact.content);
    console.log(`wrote ${artifact.path}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
