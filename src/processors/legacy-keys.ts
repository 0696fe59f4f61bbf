// Window keys as sluice 0.1 wrote them: `<window>|<String(value) of each group value, joined by
// "|">|<start>`, and a merge lane's partial keys with `|<source partition>` appended. They were
// ambiguous (("a|b","c") and ("a","b|c"), or 1 and "1", shared one key) and are never written any
// more, but a store or changelog from before the change may still hold them, and lanes would
// otherwise keep such an accumulator beside a new one for the same window and group (two finals).
// So a lane that creates a window first looks for its legacy entry and takes it over; legacy
// entries nobody takes over close as usual, with a final under the new key, and their changelog
// tombstones remove them. A new key starts with "[" and a legacy one with the window name (an
// identifier), so the two can never be mistaken for each other. Remove this module once no
// deployment can hold state from 0.1.
import type { WindowState } from '../model/window-state.ts';

export function legacyWindowKey(windowName: string, groupValues: readonly unknown[], start: number): string {
  let key = windowName + '|';
  for (let i = 0; i < groupValues.length; i++) key += (i > 0 ? '|' : '') + String(groupValues[i]);
  return key + '|' + start;
}

/**
 * Whether `state` (found under a legacy key) is the accumulator of exactly this window and group:
 * under a legacy key it may belong to another group that merely collided with this one.
 */
export function isLegacyStateOf(state: WindowState, windowName: string, groupValues: readonly unknown[], start: number): boolean {
  if (state.w !== windowName || state.s !== start || state.g.length !== groupValues.length) return false;
  for (let i = 0; i < groupValues.length; i++) if (state.g[i] !== groupValues[i]) return false;
  return true;
}
