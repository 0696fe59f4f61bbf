// topK's state: every member seen in the window with its partial `by` aggregate, so the
// leaderboard is exact and merges across partitions member by member. Members are kept sorted in
// the scalar order (scalar-order.ts): a lookup is a binary search, and the state is a function of
// the events, not of their order. Parallel arrays rather than an object keyed by member, because
// LMDB's msgpack would record a structure for every distinct set of member names.
//
// The state grows with every new member, and it is written whole to the changelog (and a
// cross-partition window's partials topic) at every commit that changes it: one record larger
// than the broker's message.max.bytes would stall the lane for good. So a state takes a new
// member only within its limits (TopKLimits): beyond them the event is refused (a `state-limit`
// dead letter), while members it holds go on updating. Its size is estimated without serializing
// it per event: a member's JSON is measured once, when it joins, and the sum is cached per state.
import type { NumericFold } from './aggregates.ts';
import { compareScalars } from './scalar-order.ts';
import type { Scalar } from './scalar-order.ts';

export type TopKState = { m: Scalar[]; v: unknown[] };

/**
 * The estimated bytes of members and values a window's topKs hold together, shared out equally
 * among them: with the rest of the window's state, its changelog record stays well under the
 * broker's 1 MB default (docs/output.md, "State limits").
 */
export const TOP_K_WINDOW_BYTES = 512 * 1024;

export type LeaderboardEntry = { member: Scalar; value: number | null };

/**
 * `maxMembers`: members per state; `maxBytes`: the estimated JSON size of its members and values;
 * `valueBytes`: the most one value's JSON takes (a number is at most 24 characters, e.g.
 * -2.2250738585072014e-308; avg keeps two).
 */
export type TopKLimits = { maxMembers: number; maxBytes: number; valueBytes: number };

/** The most a member adds to the state's JSON: itself, its value and two commas (UTF-8 bytes). */
const memberBytes = (member: Scalar, valueBytes: number): number => Buffer.byteLength(JSON.stringify(member)) + valueBytes + 2;

/** The estimated size of a state, kept for the states this process has sized (see stateBytes). */
const sizes = new WeakMap<TopKState, number>();

/** The estimate of `s`'s members and values; measured once per state object, then kept up to date by topKAdd. */
function stateBytes(s: TopKState, valueBytes: number): number {
  let bytes = sizes.get(s);
  if (bytes === undefined) {
    bytes = 0;
    for (const member of s.m) bytes += memberBytes(member, valueBytes);
    sizes.set(s, bytes);
  }
  return bytes;
}

export function topKInit(): TopKState {
  return { m: [], v: [] };
}

/** Index of `member` in the sorted `members`, or of where it would go. */
function search(members: readonly Scalar[], member: Scalar): number {
  let lo = 0;
  let hi = members.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareScalars(members[mid]!, member) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const holds = (s: TopKState, i: number, member: Scalar): boolean => i < s.m.length && compareScalars(s.m[i]!, member) === 0;

/** Why `member` cannot join `s` within `limits`, or undefined; a member `s` holds always can. */
export function topKRefusal(s: TopKState, member: Scalar, limits: TopKLimits): string | undefined {
  if (holds(s, search(s.m, member), member)) return undefined;
  if (s.m.length >= limits.maxMembers) return `already holds ${s.m.length} members, its maxMembers (${limits.maxMembers}); ${JSON.stringify(member)} would be a new one`;
  const bytes = stateBytes(s, limits.valueBytes) + memberBytes(member, limits.valueBytes);
  if (bytes > limits.maxBytes) return `would hold about ${bytes} bytes of members and values with ${JSON.stringify(member)}, over its ${limits.maxBytes}-byte limit (${s.m.length} members now)`;
  return undefined;
}

/** Adds `value` to `member`'s aggregate, `member` joining if new (topKRefusal says whether it may). */
export function topKAdd(s: TopKState, fold: NumericFold<unknown>, member: Scalar, value: number, valueBytes: number): TopKState {
  const i = search(s.m, member);
  if (holds(s, i, member)) {
    s.v[i] = fold.add(s.v[i], value);
  } else {
    s.m.splice(i, 0, member);
    s.v.splice(i, 0, fold.add(fold.init(), value));
    const bytes = sizes.get(s);
    if (bytes !== undefined) sizes.set(s, bytes + memberBytes(member, valueBytes));
  }
  return s;
}

export function topKMerge(a: TopKState, b: TopKState, fold: NumericFold<unknown>): TopKState {
  const out = topKInit();
  // Merging with init() copies a state, so the result shares no array with its inputs.
  const take = (member: Scalar, x: unknown, y: unknown): void => {
    out.m.push(member);
    out.v.push(fold.merge(x, y));
  };
  let i = 0;
  let j = 0;
  while (i < a.m.length || j < b.m.length) {
    const order = i === a.m.length ? 1 : j === b.m.length ? -1 : compareScalars(a.m[i]!, b.m[j]!);
    if (order === 0) take(a.m[i]!, a.v[i++], b.v[j++]);
    else if (order < 0) take(a.m[i]!, a.v[i++], fold.init());
    else take(b.m[j]!, fold.init(), b.v[j++]);
  }
  return out;
}

/** The k best members: highest value first, ties by member in the scalar order. */
export function topKResult(s: TopKState, fold: NumericFold<unknown>, k: number): LeaderboardEntry[] {
  const entries = s.m.map((member, i) => ({ member, value: fold.result(s.v[i]) }));
  entries.sort((x, y) => {
    if (x.value !== y.value) return (y.value ?? -Infinity) > (x.value ?? -Infinity) ? 1 : -1;
    return compareScalars(x.member, y.member);
  });
  return entries.slice(0, k);
}

/**
 * Whether `s` is a topK state ranking by `fold`: its values share one shape, so the first one
 * tells, and a state ranked by another aggregate before a config change (a sum's numbers when
 * avg wants pairs) is not taken for one.
 */
export function isTopKState(s: unknown, fold: NumericFold<unknown>): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const t = s as Partial<TopKState>;
  return Array.isArray(t.m) && Array.isArray(t.v) && t.m.length === t.v.length && (t.v.length === 0 || fold.isState(t.v[0]));
}
