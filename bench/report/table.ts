// The table a run prints at its end: both profiles phase by phase, the main figures of its
// results, and the targets.
import type { OverloadFigures, PhaseReport, ProfileFigures } from './figures.ts';
import type { Results } from './results.ts';

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
/** A figure as the table and the chart show it: '-' for none, two decimals below 10, else one. */
export const figure = (n: number | null | undefined, unit = '') => (n === null || n === undefined ? '-' : `${Number.isInteger(n) ? n : n.toFixed(n < 10 ? 2 : 1)}${unit}`);

const f = figure;

const line = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(9))).join(' '));

function printProfile(name: string, p: ProfileFigures, sustainable: number): void {
  console.log(`${name} profile: steady ${Math.round(p.load * 100)}% of ${sustainable}/s, burst ${p.burstRate}/s`);
  const rows: [string, PhaseReport][] = [['  steady', p.steady], ['  burst', p.burst], ['  after burst', p.after], ['  drain', p.drain]];
  for (const [label, ph] of rows) line([label, f(ph.targetRate), f(ph.producedRate), f(ph.processedRate), f(ph.p50Ms), f(ph.p99Ms), f(ph.p999Ms), f(ph.maxMs)]);
}

function printOverload(o: OverloadFigures): void {
  const c = o.catchUp;
  const bp = o.backpressure;
  if (c) {
    const where = c.caughtUpIn === 'drain' ? 'after production stopped' : 'while producing';
    console.log(`catch-up       ${c.seconds} s from the burst's end to lag at its steady level (${where}); backlog then ${c.backlogAtBurstEnd} events; physical bound ${c.profileBoundSeconds} s at the capacity (${f(c.boundSeconds)} s without the drain), ${c.profileBoundAtSustainableSeconds} s at the sustainable rate`);
  }
  console.log(`backpressure   ${bp.pauses} partition pauses and ${bp.resumes} resumes, at most ${bp.pausedPartitionsMax} paused at a scrape; in flight max ${mb(bp.inFlightMaxBytes)} (bound ${mb(bp.boundBytes)}); heap max ${mb(bp.heapMaxBytes)} (headroom profile ${mb(bp.baselineHeapMaxBytes)})`);
}

function printTargets(r: Results): void {
  console.log('');
  console.log('targets');
  for (const t of r.targets) {
    const verdict = t.met === null ? 'vs    ' : t.met ? 'met   ' : 'missed';
    const value = typeof t.value === 'number' ? f(t.value, t.unit === undefined ? '' : t.unit === '%' ? '%' : ` ${t.unit}`) : String(t.value);
    console.log(`  ${verdict} ${t.name}: ${value} (target ${t.target})`);
  }
}

export function printTable(r: Results): void {
  const s = r.sluice;
  console.log('');
  console.log(`sluice bench (${r.mode}) — ${r.startedAt}, ${r.machine.cores} cores, ${r.machine.node}`);
  console.log('');
  line(['phase', 'target/s', 'in/s', 'done/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms*']);
  printProfile('headroom', s.headroom, s.sustainableRate);
  printProfile('overload', s.overload, s.sustainableRate);
  console.log('  (percentiles bucket-interpolated from sluice_event_latency_seconds; *max = upper bound of the highest bucket)');
  console.log('');
  printOverload(s.overload);
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
  if (search) console.log(`sustainable    ${search.rate === null ? 'below the lowest step' : `${search.rate}/s`} (rate stepped up beside the load generator)`);
  console.log(`throughput     sluice ${Math.round(s.throughput)}/s (${s.workers} worker(s))   ceiling ${Math.round(r.ceiling.throughput)}/s (${r.ceiling.members} member(s))   ratio ${r.ratios.throughput.toFixed(2)}`);
  console.log(`gc             max pause ${f(s.gc.maxPauseMs, ' ms')}, p99 ${f(s.gc.p99PauseMs, ' ms')}, ${s.gc.count} pauses, ${f(s.gc.pauseShare * 100, '%')} of wall time`);
  const split = `LMDB-mapped ${s.rssLmdbMaxBytes === null ? '-' : mb(s.rssLmdbMaxBytes)}, other ${s.rssOtherMaxBytes === null ? '-' : mb(s.rssOtherMaxBytes)}`;
  console.log(`memory         heap max ${mb(s.heapMaxBytes)}, rss max ${mb(s.rssMaxBytes)} (${split}), ${f(s.allocBytesPerEvent)} B allocated/event, ${f(s.cpuMicrosPerEvent)} µs CPU/event`);
  printCores(r);
  if (r.scaling) {
    const w = Object.entries(r.scaling.workers).map(([n, t]) => `${n} worker(s) ${t}/s`);
    console.log(`scaling        ${w.join(', ')}: speedup ${r.scaling.speedup}x`);
  }
  if (r.stateHeap) {
    const h = r.stateHeap;
    console.log(`state heap     ${h.ids} dedupe ids: heap max ${mb(h.heapMaxBytes)}, live after GC ${h.liveHeapMaxBytes === null ? '-' : mb(h.liveHeapMaxBytes)} (limit ${mb(h.heapLimitBytes)}), rss max ${mb(h.rssMaxBytes)}, LMDB ${mb(h.lmdbBytes)} on disk`);
  }
  if (r.enrichment) {
    const e = r.enrichment;
    console.log(`enrichment     hot path, ${e.events} events: ${f(e.without.allocBytesPerEvent)} -> ${f(e.with.allocBytesPerEvent)} B allocated/event, ${e.without.cpuMicrosPerEvent} -> ${e.with.cpuMicrosPerEvent} µs CPU/event with a table lookup copying 2 fields (${e.allocBytesPerLookup} B, ${e.cpuMicrosPerLookup} µs per lookup)`);
  }
  for (const failure of r.failures ?? []) console.log(`FAILED         ${failure}`);
  console.log(`correct        ${s.correct ? 'yes' : 'NO'}: ${s.correctness.observed.finals}/${s.correctness.expected.finals} final windows match the oracle, ${s.correctness.observed.duplicates} duplicates dropped`);
  printTargets(r);
}

function printCores(r: Results): void {
  const profiles = ['headroom', 'overload'].map((name) => {
    const cores = ((r.profile[name] as { cores?: Record<string, number> } | undefined)?.cores ?? {}) as Record<string, number>;
    return `${name}: ${Object.entries(cores).map(([proc, c]) => `${proc} ${c.toFixed(2)}`).join(', ')}`;
  });
  console.log(`cpu (cores)    while producing, ${profiles.join('; ')} (of ${String(r.machine.cores)})`);
}
