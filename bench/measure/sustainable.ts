// The maximum sustainable rate, found as the performance issue asks: step the produced rate up
// until lag grows without bound. The backlog drain (phases.ts) says what sluice does with the
// machine to itself; this says what it keeps up with while the load generator and the broker take
// their share of the same cores, which is the rate the steady phase's "70%" should be of.
//
// Steps run at 40%, 50%, ... 120% of the drain capacity (a short drain can underestimate it),
// `stepSeconds` each. A step is sustained when sluice committed input at 95% or more of the rate
// it was produced at, the commit rate being the least-squares slope of committed records over
// the step's one-second scrapes: commits come in bursts (one per fetched batch and lane), and a
// slope over the whole step smooths them where the lag at two instants would not. A warm-up step
// at 30% comes first and is not judged (the first commits after a pause are slow); the answer is
// the highest step that kept up before the first one after it that fell behind and was not
// recovered from by the step after it (see sustainedRate).
import type { Ctx } from './phases.ts';
import { runProfile } from './phases.ts';
import type { Sample } from './scraper.ts';

export interface SearchStep {
  rate: number;
  produced: number;
  /** produced events/s, as the load generator measured them */
  producedRate: number;
  /** committed events/s: the slope of committed records over the step */
  committedRate: number;
  lagAtStart: number;
  lagAtEnd: number;
  sustained: boolean;
}

export interface SustainableResult {
  /** events/s; null when not even the lowest step was sustained */
  rate: number | null;
  stepSeconds: number;
  steps: SearchStep[];
}

const FRACTIONS = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2];
const KEEPS_UP = 0.95;

/** Least-squares slope of committed records over time, per second. */
function commitRate(samples: readonly Sample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  let st = 0;
  let sr = 0;
  for (const x of samples) {
    st += x.t;
    sr += x.recordsIn;
  }
  const mt = st / n;
  const mr = sr / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.t - mt) * (x.recordsIn - mr);
    den += (x.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 1000;
}

/**
 * The highest step that kept up below the limit: the first step that fell behind after one kept
 * up (before that, sluice is still warming up) and that the next step did not recover from. A
 * short step can fall behind on a hiccup (a GC pause, a rebalance of the broker's cores); when the
 * next, faster step keeps up and brings the lag down, that was no limit.
 */
export function sustainedRate(steps: readonly SearchStep[]): number | null {
  let rate: number | null = null;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.sustained) {
      rate = step.rate;
      continue;
    }
    if (rate === null) continue;
    const next = steps[i + 1];
    const recovered = next !== undefined && next.sustained && next.lagAtEnd < step.lagAtEnd;
    if (!recovered) break;
  }
  return rate;
}

export async function findSustainableRate(ctx: Ctx, capacity: number, stepSeconds: number, drainTimeoutMs: number): Promise<SustainableResult> {
  const warmUp = { name: 'warm-up', rate: Math.max(1, Math.round(0.3 * capacity)), seconds: stepSeconds };
  const phases = FRACTIONS.map((f) => ({ name: `step-${Math.round(f * 100)}%`, rate: Math.max(1, Math.round(f * capacity)), seconds: stepSeconds }));
  ctx.log(`[search] stepping the rate up from ${phases[0]!.rate}/s to ${phases.at(-1)!.rate}/s, ${stepSeconds}s a step, to find where lag starts to grow`);
  const profile = await runProfile(ctx, [warmUp, ...phases], drainTimeoutMs);
  const first = profile.boundaries.get(warmUp.name);
  if (first === undefined) throw new Error('search: the warm-up step never started');
  const steps: SearchStep[] = [];
  // Lag counts from the warm-up's start, when nothing was waiting (the capacity backlog had drained).
  let producedBefore = profile.phases[0]!.produced;
  for (let i = 0; i < phases.length; i++) {
    const result = profile.phases[i + 1]!;
    const start = profile.boundaries.get(phases[i]!.name) ?? profile.productionEnd;
    const end = i + 1 < phases.length ? (profile.boundaries.get(phases[i + 1]!.name) ?? profile.productionEnd) : profile.productionEnd;
    const lagAtStart = producedBefore - (start.recordsIn - first.recordsIn);
    producedBefore += result.produced;
    const lagAtEnd = producedBefore - (end.recordsIn - first.recordsIn);
    const inStep = ctx.scraper.samples.filter((x) => x.t >= start.t && x.t <= end.t);
    const committedRate = Math.round(commitRate(inStep));
    const sustained = committedRate >= KEEPS_UP * result.actualRate;
    steps.push({ rate: phases[i]!.rate, produced: result.produced, producedRate: Math.round(result.actualRate), committedRate, lagAtStart, lagAtEnd, sustained });
    ctx.log(`[search] ${phases[i]!.name}: produced ${Math.round(result.actualRate)}/s, committed ${committedRate}/s, lag ${lagAtStart} -> ${lagAtEnd} events: ${sustained ? 'keeps up' : 'falls behind'}`);
  }
  const rate = sustainedRate(steps);
  ctx.log(`[search] maximum sustainable rate: ${rate === null ? 'below the lowest step' : `${rate}/s`}`);
  return { rate, stepSeconds, steps };
}
