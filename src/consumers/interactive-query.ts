// Interactive queries (GET /aggregates) on the lanes' side: where a window and group's state lives,
// and what the lanes open here hold of it. Reads committed LMDB state only, synchronously on the
// lanes' own thread, so an answer never mixes two commits: a batch in flight is not in it yet,
// which the freshness (the committed offset) says.
import type { AggregateQuery, GroupLocation, LocalAnswer, PartitionFreshness } from '../model/aggregate-query.ts';
import { defaultPartition } from '../model/key-partition.ts';
import { partialsTopic } from '../model/naming.ts';
import type { WindowResult } from '../model/value-format.ts';
import type { WindowState } from '../model/window-state.ts';
import { mergeAccumulators } from '../processors/aggregates.ts';
import { groupKeyPrefix, windowResult } from '../processors/output-record.ts';
import { isCrossPartition, mergePartition } from '../processors/partials.ts';
import type { PipelineSpec, WindowSpec } from '../processors/types.ts';
import type { OpenLane, OpenLanes } from './open-lanes.ts';

/** Every combination of the candidate values per field: the groups the query may mean. */
export function candidateGroups(group: readonly (readonly unknown[])[]): unknown[][] {
  let out: unknown[][] = [[]];
  for (const values of group) out = out.flatMap((prefix) => values.map((v) => [...prefix, v]));
  return out;
}

export interface QueryContext {
  spec: PipelineSpec;
  applicationId: string;
  inputTopic: string;
  /** the input topic's partition count, which the partials topics share */
  partitions: number;
}

/**
 * The partition a group's state lives in. A partition-local window's group is keyed by its first
 * value, the input key, and sits where the default partitioner puts that key: a producer with
 * another partitioner puts it elsewhere, which is why the lanes open here are all searched first.
 * A cross-partition window's group sits in the merge lane its partials go to.
 */
export function locateGroup(ctx: QueryContext, window: WindowSpec, group: readonly unknown[]): GroupLocation {
  if (isCrossPartition(ctx.spec, window)) return { topic: partialsTopic(ctx.applicationId, window.name), partition: mergePartition(group, ctx.partitions) };
  return { topic: ctx.inputTopic, partition: defaultPartition(String(group[0]), ctx.partitions) };
}

function freshness(lane: OpenLane): PartitionFreshness {
  const meta = lane.state.meta();
  return { topic: lane.topic, partition: lane.partition, committedOffset: meta.inputOffset ?? null, lag: lane.lag() ?? null, streamTime: Number.isFinite(meta.streamTime) ? meta.streamTime : null };
}

/** The start in a store key `<prefix><start>]` (or `…]|<source>`), or undefined for a longer group sharing the prefix. */
function startOf(key: string, prefix: string): number | undefined {
  const close = key.indexOf(']', prefix.length);
  if (close === -1) return undefined;
  const text = key.slice(prefix.length, close);
  // A group with more values continues with "," where this one has its start.
  return text.includes(',') ? undefined : Number(text);
}

interface Bounds {
  from: number;
  to: number;
}

const inBounds = (start: number | undefined, b: Bounds): start is number => start !== undefined && start >= b.from && start <= b.to;

/**
 * A source lane's windows of one group, each listed once by key: open ones first, since an open
 * window under a retained final's key is a newer window (its definition's size changed since),
 * then finals kept for queries, then sessions an idle close finalized that no kept final lists.
 */
function sourceWindows(lane: OpenLane, window: WindowSpec, prefix: string, b: Bounds, now: number): Map<string, WindowResult> {
  const found = new Map<string, WindowResult>();
  const idleClosed: [string, WindowState][] = [];
  for (const [key, state] of lane.state.windowsWithPrefix(prefix)) {
    if (!inBounds(startOf(key, prefix), b)) continue;
    if (state.f === 1) idleClosed.push([key, state]);
    else found.set(key, result(window, state, false));
  }
  addKeptFinals(found, lane, window, prefix, b, now);
  // Its final is written; it waits in the store for stream time to pass it.
  for (const [key, state] of idleClosed) if (!found.has(key)) found.set(key, result(window, state, true, 'idle'));
  return found;
}

/** A merge lane's windows of one group: its sources' partials merged (open windows first, as above), and finals kept for queries. */
function mergedWindows(lane: OpenLane, window: WindowSpec, prefix: string, b: Bounds, now: number): Map<string, WindowResult> {
  const merged = new Map<string, WindowState>();
  for (const [key, partial] of lane.state.windowsWithPrefix(prefix)) {
    if (!inBounds(startOf(key, prefix), b)) continue;
    const windowKey = key.slice(0, key.lastIndexOf('|'));
    const sofar = merged.get(windowKey);
    merged.set(windowKey, sofar === undefined ? partial : { ...sofar, a: mergeAccumulators(sofar.a, partial.a, window.aggregates) });
  }
  const found = new Map<string, WindowResult>();
  for (const [key, state] of merged) found.set(key, result(window, state, false));
  addKeptFinals(found, lane, window, prefix, b, now);
  return found;
}

/** Adds the finals kept for queries (http.queryRetention) that are not past their time and that no window in `found` lists. */
function addKeptFinals(found: Map<string, WindowResult>, lane: OpenLane, window: WindowSpec, prefix: string, b: Bounds, now: number): void {
  for (const [key, retained] of lane.state.retainedWithPrefix(prefix)) {
    if (found.has(key) || retained.until <= now || !inBounds(startOf(key, prefix), b)) continue;
    found.set(key, result(window, retained.state, true, retained.closedBy));
  }
}

function result(window: WindowSpec, state: WindowState, final: boolean, closedBy?: 'idle'): WindowResult {
  return windowResult(window, state.g, state.s, state.a, final, { end: state.e, closedBy });
}

/**
 * What the lanes open here hold of a window and group: a partition-local window's from every
 * source lane (a group keyed by a producer's own partitioner may sit anywhere), a cross-partition
 * window's from its merge lane, if open here.
 */
export function answerLocally(ctx: QueryContext, lanes: OpenLanes, q: AggregateQuery, limit: number, now = Date.now()): LocalAnswer {
  const window = ctx.spec.windows.find((w) => w.name === q.window);
  const open = lanes.all();
  const owned = open.map((l) => `${l.topic}/${l.partition}`);
  if (window === undefined) return { owned, results: [], freshness: [], location: undefined };
  // Every candidate has the same String() (http/aggregates.ts, candidateValues): one partition.
  const location = locateGroup(ctx, window, q.group.map((values) => values[values.length - 1]));
  const answer: LocalAnswer = { owned, results: [], freshness: [], location };
  const bounds = { from: q.from ?? Number.NEGATIVE_INFINITY, to: q.to ?? Number.POSITIVE_INFINITY };
  const groups = candidateGroups(q.group);
  const cross = isCrossPartition(ctx.spec, window);
  const target = `${location.topic}/${location.partition}`;
  for (const lane of open) {
    const id = `${lane.topic}/${lane.partition}`;
    if (cross ? id !== target : lane.kind !== 'source') continue;
    let contributed = false;
    for (const g of groups) {
      const prefix = groupKeyPrefix(window.name, g);
      const found = cross ? mergedWindows(lane, window, prefix, bounds, now) : sourceWindows(lane, window, prefix, bounds, now);
      // One past the limit tells the caller the answer was cut.
      for (const r of found.values()) if (answer.results.length <= limit) answer.results.push(r);
      contributed ||= found.size > 0;
    }
    if (contributed || id === target) answer.freshness.push(freshness(lane));
  }
  return answer;
}
