// The SVG chart of a run from its results JSON alone, so rechart.ts can redraw any run: one panel
// per rate profile (headroom, overload), or the single profile of runs before there were two.
import type { TimelinePoint } from './analysis.ts';
import { chartSpec, renderSvg } from './chart.ts';
import type { PanelInput } from './chart.ts';
import type { PhaseReport, ProfileFigures } from './figures.ts';
import type { Results } from './results.ts';
import { figure } from './table.ts';

const P99_TARGET_MS = 50;

/** The phases a panel needs, whatever the JSON's age. */
interface PanelPhases {
  steady: PhaseReport;
  burst: PhaseReport;
  after: PhaseReport;
  drain: PhaseReport;
}

function panel(title: string, phases: PanelPhases, points: TimelinePoint[], burstFactor: unknown, twiceSteady: boolean): PanelInput {
  const origin = phases.steady.fromMs;
  const seconds = (t: number) => (t - origin) / 1000;
  const steadyP99 = phases.steady.p99Ms;
  const p99Lines = [{ ms: P99_TARGET_MS, label: `target ${P99_TARGET_MS} ms` }];
  if (twiceSteady && steadyP99 !== null && steadyP99 > 0) p99Lines.push({ ms: 2 * steadyP99, label: `2x steady p99 (${figure(2 * steadyP99)} ms)` });
  return {
    title,
    points,
    burst: { from: seconds(phases.burst.fromMs), to: seconds(phases.burst.toMs), label: `burst ${String(burstFactor)}x` },
    productionEnd: seconds(phases.after.toMs),
    drainEnd: seconds(phases.drain.toMs),
    p99Lines,
  };
}

function profileTitle(name: string, p: ProfileFigures, sustainable: number): string {
  const p99 = (ph: PhaseReport) => `${figure(ph.p99Ms)} ms`;
  return `${name}: ${Math.round(p.load * 100)}% of ${sustainable}/s = ${p.steadyRate}/s, burst ${p.burstRate}/s; p99 steady ${p99(p.steady)}, burst ${p99(p.burst)}, after ${p99(p.after)}`;
}

/** A results file from before the two profiles: one profile, `steady`, `burst`, `steadyAfter`. */
interface LegacyResults {
  sluice: { steady: PhaseReport; burst: PhaseReport; steadyAfter: PhaseReport; drain: PhaseReport };
  timeline: TimelinePoint[];
}

function panelsOf(r: Results): PanelInput[] {
  const burstFactor = r.profile.burstFactor;
  if (Array.isArray(r.timeline as unknown)) {
    const legacy = r as unknown as LegacyResults;
    const s = legacy.sluice;
    const phases = { steady: s.steady, burst: s.burst, after: s.steadyAfter, drain: s.drain };
    return [panel(`steady ${String(s.steady.targetRate)}/s, burst ${String(s.burst.targetRate)}/s`, phases, legacy.timeline, burstFactor, true)];
  }
  const { sluice, timeline } = r;
  return [
    panel(profileTitle('headroom profile', sluice.headroom, sluice.sustainableRate), sluice.headroom, timeline.headroom, burstFactor, true),
    panel(profileTitle('overload profile', sluice.overload, sluice.sustainableRate), sluice.overload, timeline.overload, burstFactor, false),
  ];
}

export async function chartOf(r: Results): Promise<string> {
  const s = r.sluice;
  return renderSvg(
    chartSpec({
      title: `sluice ${r.mode} bench — ${r.startedAt}`,
      subtitle: `${String(r.machine.cores)} cores, ${String(r.machine.node)}, ${s.workers} worker(s); capacity ${Math.round(s.throughput)}/s; ${s.correct ? 'correct' : 'INCORRECT'}`,
      capacity: s.throughput,
      panels: panelsOf(r),
    }),
  );
}
