// The short table a run prints at its end: the main figures of its results, and the targets.
import type { PhaseReport } from './figures.ts';
import type { Results } from './results.ts';

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
/** A figure as the table and the chart show it: '-' for none, two decimals below 10, else one. */
export const figure = (n: number | null | undefined, unit = '') => (n === null || n === undefined ? '-' : `${Number.isInteger(n) ? n : n.toFixed(n < 10 ? 2 : 1)}${unit}`);

const f = figure;

export function printTable(r: Results): void {
  const s = r.sluice;
  const rows: [string, PhaseReport][] = [['steady', s.steady], ['burst', s.burst], ['steady after', s.steadyAfter], ['drain', s.drain]];
  const line = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(14) : c.padStart(10))).join(' '));
  console.log('');
  console.log(`sluice bench (${r.mode}) — ${r.startedAt}, ${r.machine.cores} cores, ${r.machine.node}`);
  console.log('');
  line(['phase', 'target/s', 'in/s', 'done/s', 'p50 ms', 'p95 ms', 'p99 ms', 'p99.9 ms', 'max ms*']);
  for (const [name, p] of rows) line([name, f(p.targetRate), f(p.producedRate), f(p.processedRate), f(p.p50Ms), f(p.p95Ms), f(p.p99Ms), f(p.p999Ms), f(p.maxMs)]);
  console.log('  (percentiles bucket-interpolated from sluice_event_latency_seconds; *max = upper bound of the highest bucket)');
  console.log('');
  if (r.clientCeilings) {
    const all = Object.entries(r.clientCeilings).map(([client, c]) => `${client} ${Math.round(c.throughput)}/s`);
    console.log(`ceilings       ${all.join('   ')} (exactly-once pass-through per client, same run)`);
  }
  if (r.clients) {
    const c = r.clients;
    const one = (name: 'kafkajs' | 'platformatic') => `${name} ${c[name].throughput}/s (${c[name].ratio.toFixed(2)} of its ceiling)`;
    console.log(`clients        ${one('kafkajs')}   ${one('platformatic')}: platformatic/kafkajs ${c.platformaticOverKafkajs}x (main run on ${c.main})`);
  }
  const search = r.profile.search as { rate: number | null } | null | undefined;
  if (search) console.log(`sustainable    ${search.rate === null ? 'below the lowest step' : `${search.rate}/s`} (rate stepped up beside the load generator); steady phase at ${String(r.profile.steadyRate)}/s`);
  console.log(`throughput     sluice ${Math.round(s.throughput)}/s (${s.workers} worker(s))   ceiling ${Math.round(r.ceiling.throughput)}/s (${r.ceiling.members} member(s))   ratio ${r.ratios.throughput.toFixed(2)}`);
  console.log(`gc             max pause ${f(s.gc.maxPauseMs, ' ms')}, p99 ${f(s.gc.p99PauseMs, ' ms')}, ${s.gc.count} pauses, ${f(s.gc.pauseShare * 100, '%')} of wall time`);
  console.log(`memory         heap max ${mb(s.heapMaxBytes)}, rss max ${mb(s.rssMaxBytes)}, ${f(s.allocBytesPerEvent)} B allocated/event, ${f(s.cpuMicrosPerEvent)} µs CPU/event`);
  const cores = Object.entries((r.profile.cores ?? {}) as Record<string, number>).map(([name, c]) => `${name} ${c.toFixed(2)}`);
  if (cores.length > 0) console.log(`cpu (cores)    while producing: ${cores.join(', ')} (of ${String(r.machine.cores)})`);
  if (r.scaling) {
    const w = Object.entries(r.scaling.workers).map(([n, t]) => `${n} worker(s) ${t}/s`);
    console.log(`scaling        ${w.join(', ')}: speedup ${r.scaling.speedup}x`);
  }
  if (r.stateHeap) {
    const h = r.stateHeap;
    console.log(`state heap     ${h.ids} dedupe ids: heap max ${mb(h.heapMaxBytes)}, live after GC ${h.liveHeapMaxBytes === null ? '-' : mb(h.liveHeapMaxBytes)} (limit ${mb(h.heapLimitBytes)}), rss max ${mb(h.rssMaxBytes)}, LMDB ${mb(h.lmdbBytes)} on disk`);
  }
  console.log(`correct        ${s.correct ? 'yes' : 'NO'}: ${s.correctness.observed.finals}/${s.correctness.expected.finals} final windows match the oracle, ${s.correctness.observed.duplicates} duplicates dropped`);
  console.log('');
  for (const t of r.targets) console.log(`${t.met ? 'met   ' : 'missed'} ${t.name}: ${t.target} (${typeof t.value === 'number' ? f(t.value) : String(t.value)})`);
}

