// How far sluice's sketches may be from the oracle's exact answers (docs/output.md):
// countDistinct within 2% of the exact count, each quantile within 1% of the exact value at its
// rank. Everything else must be equal.
import type { OracleOutput, OracleWindow } from './oracle.ts';

const within = (got: unknown, exact: unknown, relative: number): boolean =>
  typeof got === 'number' && typeof exact === 'number' && Math.abs(got - exact) <= relative * Math.abs(exact) * (1 + 1e-9);

/**
 * `expected` with each sketch value replaced by sluice's where that is within its bound, so that a
 * deep equality passes exactly when every bound holds and shows the exact value where one does not.
 */
export function withinSketchBounds(expected: OracleOutput, got: unknown, window: OracleWindow): OracleOutput {
  const gotValues = (got as { values?: Record<string, unknown> } | undefined)?.values ?? {};
  const values = { ...expected.values };
  for (const a of window.aggregates) {
    const exact = values[a.name];
    const estimate = gotValues[a.name];
    if (a.fn === 'countDistinct' && within(estimate, exact, 0.02)) values[a.name] = estimate;
    if (a.fn === 'quantiles' && typeof exact === 'object' && exact !== null && typeof estimate === 'object' && estimate !== null) {
      const byName = { ...(exact as Record<string, unknown>) };
      for (const [label, v] of Object.entries(byName)) if (within((estimate as Record<string, unknown>)[label], v, 0.01)) byName[label] = (estimate as Record<string, unknown>)[label];
      values[a.name] = byName;
    }
  }
  return { ...expected, values };
}
