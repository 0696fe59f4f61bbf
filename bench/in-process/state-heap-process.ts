// state-heap.ts in a process of its own, capped at the 256 MB heap the target allows, on the
// bench pipeline's dedupe settings (read here: the config parser stays off the measured heap).
//
//   node bench/in-process/state-heap-process.ts [ids]     (prints one JSON line)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pipelineSpec } from '../../src/entry/app.ts';
import { benchPipeline } from '../setup/pipeline-config.ts';
import type { StateHeapResult } from './state-heap.ts';

const CHILD = fileURLToPath(new URL('./state-heap.ts', import.meta.url));

export function measureStateHeap(ids: number): StateHeapResult {
  const spec = pipelineSpec(benchPipeline('update'));
  const out = execFileSync(process.execPath, ['--max-old-space-size=256', '--expose-gc', CHILD, String(ids), JSON.stringify(spec)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as StateHeapResult;
}

if (import.meta.main) console.log(JSON.stringify(measureStateHeap(Number(process.argv[2] ?? 5_000_000))));
