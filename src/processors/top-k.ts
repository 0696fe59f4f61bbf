// topK's state: every member seen in the window with its partial `by` aggregate, so the
// leaderboard is exact and merges across partitions member by member. Members are kept sorted in
// the scalar order (scalar-order.ts): a lookup is a binary search, and the state is a function of
// the events, not of their order. Parallel arrays rather than an object keyed by member, because
// LMDB's msgpack would record a structure for every distinct set of member names.
import type { NumericFold } from './aggregates.ts';
import { compareScalars } from './scalar-order.ts';
import type { Scalar } from './scalar-order.ts';

export type TopKState = { m: Scalar[]; v: unknown[] };

export type LeaderboardEntry = { member: Scalar; value: number | null };

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

export function topKAdd(s: TopKState, fold: NumericFold<unknown>, member: Scalar, value: number): TopKState {
  const i = search(s.m, member);
  if (i < s.m.length && compareScalars(s.m[i]!, member) === 0) {
    s.v[i] = fold.add(s.v[i], value);
  } else {
    s.m.splice(i, 0, member);
    s.v.splice(i, 0, fold.add(fold.init(), value));
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

export function isTopKState(s: unknown): boolean {
  if (typeof s !== 'object' || s === null) return false;
  const t = s as Partial<TopKState>;
  return Array.isArray(t.m) && Array.isArray(t.v) && t.m.length === t.v.length;
}
