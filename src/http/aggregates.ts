// GET /aggregates?window=W&group=field=value[&group=…][&from=ms&to=ms]: a window and group's
// results from the instance holding its state. This layer parses the query and routes it: the
// lanes open in this process answer what they hold (src/consumers/interactive-query.ts); a group
// whose partition another instance owns is answered 307 to that owner's advertised URL, as the
// ownership topic last named it.
import type { AggregateQuery, GroupLocation, LocalAnswer, PartitionFreshness } from '../model/aggregate-query.ts';
import type { WindowResult } from '../model/value-format.ts';
import type { MemberProgress } from './probes.ts';

export interface QueryableWindow {
  name: string;
  groupBy: readonly string[];
}

export interface AggregatesSource {
  windows: readonly QueryableWindow[];
  /** every local answer: one per worker thread that answered (one for a pipeline in this thread) */
  ask(q: AggregateQuery): Promise<LocalAnswer[]>;
  /** the owner the ownership topic last named; undefined when none is known */
  ownerOf(location: GroupLocation): string | undefined;
  /** this instance's advertised URL */
  self: string;
  progress(): Promise<MemberProgress[]>;
}

export class BadQuery extends Error {}

/**
 * The values a query-string value may name: the text itself, and the number, boolean or null it
 * spells, where that is written exactly as the value's String() (`42`, `true`, not `1e3` or `1.0`).
 * So every candidate has the same String(), which is what places a group in a partition (its key,
 * or the merge partition's hash): a query never has to ask two partitions.
 */
export function candidateValues(text: string): unknown[] {
  const out: unknown[] = [text];
  try {
    const parsed: unknown = JSON.parse(text);
    if ((parsed === null || typeof parsed === 'number' || typeof parsed === 'boolean') && String(parsed) === text) out.push(parsed);
  } catch {
    // plain text: a string only
  }
  return out;
}

/**
 * The most bytes of group values a query may give: a group's store key (window name, values and
 * start, as JSON) must fit LMDB's 1978-byte key limit, and a longer one names no group anyway.
 */
export const MAX_GROUP_BYTES = 1024;

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function epochMs(name: string, v: unknown): number | undefined {
  const [text, more] = list(v);
  if (text === undefined) return undefined;
  if (more !== undefined || !/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new BadQuery(`${name} must be one integer, epoch milliseconds`);
  return Number(text);
}

/** The query a request's parameters make, checked against the windows; BadQuery says what is wrong. */
export function parseAggregateQuery(params: Record<string, unknown>, windows: readonly QueryableWindow[]): { query: AggregateQuery; group: Record<string, string>; redirectedFrom: string | undefined } {
  const [name, extra] = list(params.window);
  if (name === undefined || extra !== undefined) throw new BadQuery(`give one window=<name>, one of: ${windows.map((w) => w.name).join(', ')}`);
  const window = windows.find((w) => w.name === name);
  if (window === undefined) throw new BadQuery(`no window ${JSON.stringify(name)}; windows: ${windows.map((w) => w.name).join(', ')}`);
  const given: Record<string, string> = {};
  for (const item of list(params.group)) {
    const eq = item.indexOf('=');
    const field = eq === -1 ? item : item.slice(0, eq);
    if (eq === -1 || !window.groupBy.includes(field)) throw new BadQuery(`group=${item}: window ${name} groups by ${window.groupBy.join(', ') || 'nothing (one global group)'}; give group=<field>=<value> for each`);
    if (Object.hasOwn(given, field)) throw new BadQuery(`group field ${field} given twice`);
    given[field] = item.slice(eq + 1);
  }
  // As JSON, escapes included: that is how the values make the key.
  const bytes = Object.values(given).reduce((sum, v) => sum + Buffer.byteLength(JSON.stringify(v)), 0);
  if (bytes > MAX_GROUP_BYTES) throw new BadQuery(`group values of ${bytes} bytes: at most ${MAX_GROUP_BYTES}`);
  const missing = window.groupBy.filter((f) => !Object.hasOwn(given, f));
  if (missing.length > 0) throw new BadQuery(`window ${name} groups by ${window.groupBy.join(', ')}: missing group=${missing.map((f) => `${f}=<value>`).join(', group=')}`);
  const from = epochMs('from', params.from);
  const to = epochMs('to', params.to);
  if (from !== undefined && to !== undefined && from > to) throw new BadQuery(`from (${from}) is after to (${to})`);
  return { query: { window: name, group: window.groupBy.map((f) => candidateValues(given[f]!)), from, to }, group: given, redirectedFrom: list(params[REDIRECTED_FROM])[0] };
}

/**
 * The parameter a redirect adds, naming the instance that redirected: one that would send the
 * query straight back there answers 503 instead, so two instances whose directories each name the
 * other (a partition that moved twice in quick succession) cannot bounce a client between them.
 * A redirect onwards, to a third instance, is still made.
 */
const REDIRECTED_FROM = 'redirectedFrom';

export type AggregatesOutcome =
  | { status: 200; body: { window: string; group: Record<string, string>; results: WindowResult[]; freshness: PartitionFreshness[]; truncated: boolean } }
  | { status: 307; location: string }
  | { status: 503; body: { error: string } };

const byStartThenGroup = (a: WindowResult, b: WindowResult) => a.start - b.start || JSON.stringify(a.group).localeCompare(JSON.stringify(b.group));

/**
 * Answers here when a lane open here holds results or owns the group's partition; else redirects
 * to the owner. A directory that names this instance, or no one, means the partition is between
 * owners (a rebalance, a restore): 503, and the caller retries.
 */
export async function routeAggregates(src: AggregatesSource, parsed: ReturnType<typeof parseAggregateQuery>, rawQuery: string, maxResults: number): Promise<AggregatesOutcome> {
  const { query, group } = parsed;
  const answers = await src.ask(query);
  const results = answers.flatMap((a) => a.results).sort(byStartThenGroup);
  const owned = new Set(answers.flatMap((a) => a.owned));
  const location = answers.find((a) => a.location !== undefined)?.location;
  if (location === undefined) return { status: 503, body: { error: 'the pipeline is starting; retry' } };
  const id = `${location.topic}/${location.partition}`;
  if (results.length > 0 || owned.has(id)) {
    return { status: 200, body: { window: query.window, group, results: results.slice(0, maxResults), freshness: answers.flatMap((a) => a.freshness), truncated: results.length > maxResults } };
  }
  const assignedHere = (await src.progress()).some((m) => m.partitions.some((p) => p.partition === id));
  const owner = src.ownerOf(location);
  if (assignedHere || owner === undefined || owner === src.self || owner === parsed.redirectedFrom) {
    const why = assignedHere ? 'is restoring its state here' : owner === undefined ? 'has no announced owner yet' : 'is moving between instances';
    return { status: 503, body: { error: `partition ${id}, which holds this group, ${why}; retry` } };
  }
  const params = rawQuery.split('&').filter((p) => !p.startsWith(`${REDIRECTED_FROM}=`));
  params.push(`${REDIRECTED_FROM}=${encodeURIComponent(src.self)}`);
  return { status: 307, location: `${owner.replace(/\/+$/, '')}/aggregates?${params.join('&')}` };
}
