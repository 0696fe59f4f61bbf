// How long a profile's burst took to work off: lag (events produced but not yet committed) at
// every scrape, from the load generator's per-second counts and sluice's committed input count,
// and the time from the end of the burst until it is back to its steady level, set against the
// physical bound: the backlog at the end of the burst over the capacity sluice has to spare.
import type { Tick } from '../load/client.ts';
import type { Sample } from '../measure/scraper.ts';
import type { ProfileName, ProfileRun } from '../measure/sluice-runs.ts';
import { phaseName } from '../measure/sluice-runs.ts';

export interface CatchUp {
  /** lag at the end of the burst: events produced and not yet committed */
  backlogAtBurstEnd: number;
  /** lag counted as caught up: the most seen at any scrape of the steady phase before the burst */
  steadyLagMax: number;
  /** events/s produced after the burst */
  steadyRate: number;
  /** seconds of production after the burst (then only the drain is left) */
  afterSeconds: number;
  /** seconds from the end of the burst until lag was back to steadyLagMax (at the latest: drained) */
  seconds: number;
  /** whether that happened while production went on, or only in the drain after it stopped */
  caughtUpIn: 'after' | 'drain';
  /**
   * (backlog − steadyLagMax) ÷ (capacity − steady rate), capacity being the backlog drain's rate:
   * the time to work off what the burst added; null if the capacity is not above the steady rate
   */
  boundSeconds: number | null;
  /** the bound for this profile: as above while producing; if production stops first, the rest drains at the capacity */
  profileBoundSeconds: number;
  /** the same two with the maximum sustainable rate as the capacity */
  boundAtSustainableSeconds: number | null;
  profileBoundAtSustainableSeconds: number;
  /** seconds ÷ profileBoundSeconds; null when the bound is under a second, the scrapes' resolution */
  vsBound: number | null;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Events the load generator had produced (acknowledged) by `t` in this profile, interpolated within each second. */
function producedBy(ticks: readonly Tick[], t: number): number {
  let n = 0;
  for (const tick of ticks) {
    if (tick.endMs <= t) n += tick.produced;
    else if (tick.endMs - 1000 < t) n += (tick.produced * (t - (tick.endMs - 1000))) / 1000;
  }
  return n;
}

export interface LagPoint {
  t: number;
  lag: number;
}

/** Lag at every scrape from the profile's start to its drained pipeline. */
export function lagSeries(profile: ProfileName, run: ProfileRun, samples: readonly Sample[], ticks: readonly Tick[]): LagPoint[] {
  const start = run.result.boundaries.get(phaseName(profile, 'steady'));
  if (start === undefined) return [];
  const own = ticks.filter((k) => k.phase.startsWith(`${profile}-`));
  const end = run.result.drained.t;
  return samples.filter((s) => s.t >= start.t && s.t <= end).map((s) => ({ t: s.t, lag: Math.max(0, Math.round(producedBy(own, s.t) - (s.recordsIn - start.recordsIn))) }));
}

/** The time to drain `backlog` at `capacity` while `rate` keeps arriving for `afterSeconds`, then nothing. */
function physicalBound(backlog: number, capacity: number, rate: number, afterSeconds: number): { simple: number | null; profile: number } {
  const spare = capacity - rate;
  const simple = spare > 0 ? backlog / spare : null;
  if (simple !== null && simple <= afterSeconds) return { simple: round(simple), profile: round(simple) };
  const left = backlog - spare * afterSeconds;
  return { simple: simple === null ? null : round(simple), profile: round(afterSeconds + Math.max(0, left) / capacity) };
}

export function catchUp(profile: ProfileName, run: ProfileRun, samples: readonly Sample[], ticks: readonly Tick[], capacity: number, sustainableRate: number): CatchUp | undefined {
  const { boundaries, productionEnd, drained } = run.result;
  const burst = boundaries.get(phaseName(profile, 'burst'));
  const after = boundaries.get(phaseName(profile, 'after'));
  const lags = lagSeries(profile, run, samples, ticks);
  if (burst === undefined || after === undefined || lags.length === 0) return undefined;
  const steadyLagMax = Math.max(0, ...lags.filter((p) => p.t < burst.t).map((p) => p.lag));
  const atBurstEnd = lags.find((p) => p.t >= after.t) ?? lags.at(-1)!;
  const back = lags.find((p) => p.t >= after.t && p.lag <= steadyLagMax);
  // The drained scrape is exact: sluice had committed the end of every partition by then.
  const doneAt = back?.t ?? drained.t;
  const afterSeconds = (productionEnd.t - after.t) / 1000;
  const steadyRate = run.rate;
  // Caught up means back to the steady level of lag, so the bound is for the lag above it.
  const excess = Math.max(0, atBurstEnd.lag - steadyLagMax);
  const bound = physicalBound(excess, capacity, steadyRate, afterSeconds);
  const atSustainable = physicalBound(excess, sustainableRate, steadyRate, afterSeconds);
  const seconds = round((doneAt - after.t) / 1000);
  return {
    backlogAtBurstEnd: atBurstEnd.lag,
    steadyLagMax,
    steadyRate,
    afterSeconds: round(afterSeconds),
    seconds,
    caughtUpIn: doneAt <= productionEnd.t ? 'after' : 'drain',
    boundSeconds: bound.simple,
    profileBoundSeconds: bound.profile,
    boundAtSustainableSeconds: atSustainable.simple,
    profileBoundAtSustainableSeconds: atSustainable.profile,
    vsBound: bound.profile >= 1 ? round(seconds / bound.profile, 2) : null,
  };
}
