// The enrichment variant of `npm run bench`: the hot path (hot-path.ts, no broker) run without and
// with a lookup of every event's player in a 10k-row file table copying two fields, each in a
// process of its own, alternating, so that what a lookup costs in allocation and CPU per event
// is a difference measured side by side.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOT_PATH = fileURLToPath(new URL('./hot-path.ts', import.meta.url));

interface HotPathRun {
  allocBytesPerEvent: number;
  cpuMicrosPerEvent: number;
}

export interface EnrichmentResult {
  events: number;
  /** per variant, the lowest of its runs: noise only ever adds */
  without: HotPathRun;
  with: HotPathRun;
  allocBytesPerLookup: number;
  cpuMicrosPerLookup: number;
}

function hotPath(events: number, enrich: boolean): HotPathRun {
  const args = [HOT_PATH, '--events', String(events), ...(enrich ? ['--enrich'] : [])];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as HotPathRun;
}

const lowest = (runs: HotPathRun[]): HotPathRun => ({
  allocBytesPerEvent: Math.min(...runs.map((r) => r.allocBytesPerEvent)),
  cpuMicrosPerEvent: Math.min(...runs.map((r) => r.cpuMicrosPerEvent)),
});

export function measureEnrichment(events: number, rounds = 2): EnrichmentResult {
  const without: HotPathRun[] = [];
  const withLookup: HotPathRun[] = [];
  for (let i = 0; i < rounds; i++) {
    without.push(hotPath(events, false));
    withLookup.push(hotPath(events, true));
  }
  const a = lowest(without);
  const b = lowest(withLookup);
  return {
    events,
    without: a,
    with: b,
    allocBytesPerLookup: b.allocBytesPerEvent - a.allocBytesPerEvent,
    cpuMicrosPerLookup: Number((b.cpuMicrosPerEvent - a.cpuMicrosPerEvent).toFixed(1)),
  };
}

if (import.meta.main) console.log(JSON.stringify(measureEnrichment(Number(process.argv[2] ?? 100_000))));
