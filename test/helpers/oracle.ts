// A deliberately naive re-implementation of sluice's observable output, written from the spec and
// not from src/, so an engine bug cannot be copied into the thing that checks it. Clarity beats
// speed here: a Map of open windows and brute-force scans over them.
import { decode, field } from './oracle-decode.ts';
import { eventAggregate } from './oracle-aggregates.ts';
import type { OracleNormalizeStep } from './oracle-normalize.ts';
import { OracleSessions } from './oracle-sessions.ts';
import type { OracleSession } from './oracle-sessions.ts';

export { parseEventTime } from './oracle-decode.ts';

export type OracleRecord = { partition: number; offset: number; key: string | null; value: string | null; timestampMs: number };

export type OracleRankFn = 'count' | 'sum' | 'min' | 'max' | 'avg';

export type OracleAggregateFn = OracleRankFn | 'first' | 'last' | 'countDistinct' | 'quantiles' | 'topK';

/**
 * `quantiles` for quantiles; `k`, `by` and optionally `maxMembers` for topK, whose `field` is the
 * member. Only `maxMembers` is modelled of the state limits: test members are short, so the byte
 * limit never binds.
 */
export type OracleAggregate = { name: string; fn: OracleAggregateFn; field?: string; quantiles?: number[]; k?: number; by?: { fn: OracleRankFn; field?: string }; maxMembers?: number };

export type OracleWindow = {
  name: string;
  groupBy: string[];
  sizeMs: number;
  /** Equal to sizeMs for tumbling windows. */
  advanceMs: number;
  graceMs: number;
  aggregates: OracleAggregate[];
  /** a session window's gap (then sizeMs and advanceMs are not used) */
  sessionGapMs?: number;
};

export type OracleConfig = {
  keyField: string;
  idField?: string;
  ttlMs?: number;
  eventTimeField?: string;
  maxRecordBytes: number;
  /** `normalize:` steps, in the config's shape */
  normalize?: OracleNormalizeStep[];
  windows: OracleWindow[];
};

export type OracleReason =
  | 'oversized'
  | 'invalid-json'
  | 'missing-field'
  | 'invalid-id'
  | 'invalid-event-time'
  | 'invalid-group'
  | 'not-a-number'
  | 'not-a-scalar'
  | 'key-mismatch'
  | 'invalid'
  | 'late'
  | 'state-limit';

export type OracleOutput = {
  window: string;
  group: Record<string, unknown>;
  start: number;
  end: number;
  final: true;
  /** countDistinct and quantiles are exact here; sluice's sketches are checked against bounds (see sketch-bounds.ts) */
  values: Record<string, unknown>;
};

/** What became of one input record. */
export type OracleOutcome = 'accepted' | 'duplicate' | OracleReason;

export type OracleResult = {
  /** Output key → parsed output value, for every window that closed. */
  finals: Map<string, OracleOutput>;
  /** `"<partition>:<offset>"` → reason. */
  deadLetters: Map<string, OracleReason>;
  duplicates: Map<number, number>;
  streamTime: Map<number, number>;
  accepted: number;
  /** `"<partition>:<offset>"` → outcome, for every record; lets tests ask why a record did or did not count. */
  outcomes: Map<string, OracleOutcome>;
  /** events that merged two or more sessions into one */
  sessionBridges: number;
  /**
   * Output key → value of every partition-local window and session still open after its
   * partition's last record: what an idle close (closeIdleAfter) writes once the partition is
   * quiet and the clock has passed their end + grace.
   */
  openAtEnd: Map<string, OracleOutput>;
};

type OpenWindow = {
  def: OracleWindow;
  key: string;
  group: Record<string, unknown>;
  start: number;
  end: number;
  count: number;
  sums: number[];
  mins: number[];
  maxs: number[];
  /** every accepted event of the window, with its event time, for the aggregates computed at the end */
  events: TimedEvent[];
};

type TimedEvent = { time: number; event: Record<string, unknown> };

export function runOracle(records: readonly OracleRecord[], cfg: OracleConfig): OracleResult {
  const result = emptyResult(cfg);
  for (const [partition, list] of byPartition(records)) {
    const run = runPartition(partition, list, cfg, result);
    for (const w of run.closed) addFinal(result, w);
    for (const w of run.open.values()) if (w.def.groupBy[0] === cfg.keyField) result.openAtEnd.set(w.key, finalValue(w));
  }
  return result;
}

/**
 * Like runOracle, but windows whose groupBy does not start with the key field are merged across
 * all `partitions` of the topic: each partition folds what it accepted into a partial, and the
 * merged window closes only once every partition's stream time (its watermark) reaches
 * end + grace. A partition without records has watermark -Infinity, so it holds every merge.
 * `streamTime` and `duplicates` have an entry for every partition, the empty ones included.
 */
export function runCrossPartitionOracle(records: readonly OracleRecord[], cfg: OracleConfig, partitions: number): OracleResult {
  const result = emptyResult(cfg);
  const isCross = (def: OracleWindow): boolean => def.groupBy[0] !== cfg.keyField;
  const lists = new Map(byPartition(records));
  for (const p of lists.keys()) if (!Number.isInteger(p) || p < 0 || p >= partitions) throw new Error(`oracle: partition ${p} outside 0..${partitions - 1}`);
  const watermarks: number[] = [];
  const partials = new Map<string, OpenWindow[]>();
  for (let p = 0; p < partitions; p++) {
    const run = runPartition(p, lists.get(p) ?? [], cfg, result);
    watermarks.push(run.streamTime);
    for (const w of run.closed) if (!isCross(w.def)) addFinal(result, w);
    for (const w of run.open.values()) if (!isCross(w.def)) result.openAtEnd.set(w.key, finalValue(w));
    // Still-open partials are collected too; the watermark check below decides what may close.
    for (const w of [...run.closed, ...run.open.values()]) {
      if (!isCross(w.def)) continue;
      const list = partials.get(w.key) ?? [];
      list.push(w);
      partials.set(w.key, list);
    }
  }
  const watermark = Math.min(...watermarks);
  for (const parts of partials.values()) {
    const merged = mergePartials(parts);
    if (isClosed(merged.start, merged.def, watermark)) addFinal(result, merged);
  }
  return result;
}

function emptyResult(cfg: OracleConfig): OracleResult {
  if (cfg.idField !== undefined && cfg.ttlMs === undefined) throw new Error('oracle: idField needs ttlMs');
  return { finals: new Map(), deadLetters: new Map(), duplicates: new Map(), streamTime: new Map(), accepted: 0, outcomes: new Map(), sessionBridges: 0, openAtEnd: new Map() };
}

/** Records per partition in offset order, partitions ascending. */
function byPartition(records: readonly OracleRecord[]): [number, OracleRecord[]][] {
  const lists = new Map<number, OracleRecord[]>();
  for (const r of records) {
    const list = lists.get(r.partition) ?? [];
    list.push(r);
    lists.set(r.partition, list);
  }
  return [...lists].sort((a, b) => a[0] - b[0]).map(([partition, list]) => {
    const sorted = [...list].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.offset === sorted[i - 1]!.offset) throw new Error(`oracle: offset ${partition}:${sorted[i]!.offset} appears twice`);
    }
    return [partition, sorted];
  });
}

function addFinal(result: OracleResult, w: OpenWindow): void {
  if (result.finals.has(w.key)) throw new Error(`oracle: window ${w.key} closed twice (group not partition-local?)`);
  result.finals.set(w.key, finalValue(w));
}

function mergePartials(parts: OpenWindow[]): OpenWindow {
  const first = parts[0]!;
  const merged: OpenWindow = { ...first, sums: [...first.sums], mins: [...first.mins], maxs: [...first.maxs], events: [...first.events] };
  for (const w of parts.slice(1)) {
    merged.count += w.count;
    merged.events.push(...w.events);
    w.sums.forEach((v, i) => (merged.sums[i] = merged.sums[i]! + v));
    w.mins.forEach((v, i) => (merged.mins[i] = Math.min(merged.mins[i]!, v)));
    w.maxs.forEach((v, i) => (merged.maxs[i] = Math.max(merged.maxs[i]!, v)));
  }
  return merged;
}

/** Every window this partition closed, in closing order, and the ones (sessions too) still open at its end. */
type PartitionRun = { streamTime: number; closed: OpenWindow[]; open: Map<string, OpenWindow> };

function runPartition(partition: number, records: readonly OracleRecord[], cfg: OracleConfig, result: OracleResult): PartitionRun {
  let streamTime = -Infinity;
  let duplicates = 0;
  const firstSeen = new Map<string, number>();
  // An event joins a session only while its own one-event session is open: the gap is a session's size here.
  const retention = (cfg.ttlMs ?? 0) + Math.max(0, ...cfg.windows.map((w) => w.sessionGapMs ?? w.sizeMs)) + Math.max(0, ...cfg.windows.map((w) => w.graceMs));
  const open = new Map<string, OpenWindow>();
  const closed: OpenWindow[] = [];
  const sessions = new OracleSessions();

  for (const record of records) {
    const where = `${partition}:${record.offset}`;
    const decoded = decode(record, cfg);
    if (!decoded.ok) {
      result.deadLetters.set(where, decoded.reason);
      result.outcomes.set(where, decoded.reason);
      continue;
    }
    const t = decoded.time;

    // A known id within the ttl is a duplicate, late or not, while the id is kept: until stream
    // time reaches t0 + ttl + the longest window + the longest grace. Only then may it be
    // forgotten, and by then every repeat within the ttl is late anyway.
    const t0 = decoded.id === undefined ? undefined : firstSeen.get(decoded.id);
    if (t0 !== undefined && t <= t0 + cfg.ttlMs! && streamTime < t0 + retention) {
      duplicates++;
      result.outcomes.set(where, 'duplicate');
      continue;
    }

    const isLate = cfg.windows.every((w) => (w.sessionGapMs !== undefined ? !OracleSessions.accepts(t, w, streamTime) : windowStarts(t, w).every((s) => isClosed(s, w, streamTime))));
    if (isLate) {
      // Not recorded: a late event was never counted, so its id must not hide a later one.
      result.deadLetters.set(where, 'late');
      result.outcomes.set(where, 'late');
      continue;
    }
    // docs/output.md: a topK holding maxMembers members refuses an event with a new one, in every
    // window the event goes to (on this partition: a cross-partition window's partial here).
    if (cfg.windows.some((def) => windowStarts(t, def).some((s) => !isClosed(s, def, Math.max(streamTime, t)) && wouldOverflow(open, def, s, decoded.event)))) {
      result.deadLetters.set(where, 'state-limit');
      result.outcomes.set(where, 'state-limit');
      continue;
    }
    if (decoded.id !== undefined) firstSeen.set(decoded.id, t);

    const advanced = t > streamTime;
    streamTime = Math.max(streamTime, t);
    // Closing before adding is the same as closing after: the event never joins a closed window.
    for (const [key, w] of advanced ? open : []) {
      if (isClosed(w.start, w.def, streamTime)) {
        closed.push(w);
        open.delete(key);
      }
    }

    for (const session of sessions.closeBy(streamTime)) closed.push(sessionWindow(session));
    for (const def of cfg.windows) {
      if (def.sessionGapMs !== undefined) {
        const groupValues = def.groupBy.map((f) => field(decoded.event, f));
        sessions.add(def, groupValues, Object.fromEntries(def.groupBy.map((f, i) => [f, groupValues[i]])), { time: t, event: decoded.event }, streamTime);
        continue;
      }
      for (const start of windowStarts(t, def)) {
        if (isClosed(start, def, streamTime)) continue;
        addEvent(open, def, start, decoded.event, t);
      }
    }
    result.accepted++;
    result.outcomes.set(where, 'accepted');
  }

  for (const session of sessions.closeBy(Number.POSITIVE_INFINITY)) open.set(session.key, sessionWindow(session));
  result.duplicates.set(partition, duplicates);
  result.streamTime.set(partition, streamTime);
  result.sessionBridges += sessions.bridges;
  return { streamTime, closed, open };
}

/** Every epoch-aligned start s with s <= t < s + size, oldest first. */
export function windowStarts(t: number, w: Pick<OracleWindow, 'sizeMs' | 'advanceMs'>): number[] {
  const starts: number[] = [];
  const latest = Math.floor(t / w.advanceMs) * w.advanceMs;
  for (let s = latest; s > t - w.sizeMs; s -= w.advanceMs) starts.unshift(s);
  return starts;
}

function isClosed(start: number, w: OracleWindow, streamTime: number): boolean {
  return streamTime >= start + w.sizeMs + w.graceMs;
}

const windowKey = (def: OracleWindow, event: Record<string, unknown>, start: number): string => JSON.stringify([def.name, ...def.groupBy.map((f) => field(event, f)), start]);

function wouldOverflow(open: Map<string, OpenWindow>, def: OracleWindow, start: number, event: Record<string, unknown>): boolean {
  const events = open.get(windowKey(def, event, start))?.events ?? [];
  return def.aggregates.some((a) => {
    if (a.fn !== 'topK' || a.maxMembers === undefined) return false;
    const members = new Set(events.map((e) => JSON.stringify(field(e.event, a.field!))));
    return !members.has(JSON.stringify(field(event, a.field!))) && members.size >= a.maxMembers;
  });
}

function addEvent(open: Map<string, OpenWindow>, def: OracleWindow, start: number, event: Record<string, unknown>, time: number): void {
  const groupValues = def.groupBy.map((f) => field(event, f));
  // docs/output.md: the key is the JSON array [window, ...group values, start].
  const key = windowKey(def, event, start);
  let w = open.get(key);
  if (w === undefined) {
    const group: Record<string, unknown> = {};
    def.groupBy.forEach((f, i) => (group[f] = groupValues[i]));
    const n = def.aggregates.length;
    w = {
      def,
      key,
      group,
      start,
      end: start + def.sizeMs,
      count: 0,
      sums: new Array<number>(n).fill(0),
      mins: new Array<number>(n).fill(Infinity),
      maxs: new Array<number>(n).fill(-Infinity),
      events: [],
    };
    open.set(key, w);
  }
  fold(w, event, time);
}

/** A closed session as a window: its events folded in the order they came. */
function sessionWindow(s: OracleSession): OpenWindow {
  const n = s.def.aggregates.length;
  const w: OpenWindow = { def: s.def, key: s.key, group: s.group, start: s.start, end: s.end, count: 0, sums: new Array<number>(n).fill(0), mins: new Array<number>(n).fill(Infinity), maxs: new Array<number>(n).fill(-Infinity), events: [] };
  for (const e of s.events) fold(w, e.event, e.time);
  return w;
}

function fold(w: OpenWindow, event: Record<string, unknown>, time: number): void {
  w.count++;
  w.events.push({ time, event });
  w.def.aggregates.forEach((a, i) => {
    if (!['sum', 'min', 'max', 'avg'].includes(a.fn)) return;
    const v = field(event, a.field!) as number;
    w.sums[i] = w.sums[i]! + v;
    w.mins[i] = Math.min(w.mins[i]!, v);
    w.maxs[i] = Math.max(w.maxs[i]!, v);
  });
}

function finalValue(w: OpenWindow): OracleOutput {
  const values: Record<string, unknown> = {};
  w.def.aggregates.forEach((a, i) => {
    if (['first', 'last', 'countDistinct', 'quantiles', 'topK'].includes(a.fn)) values[a.name] = eventAggregate(a, w.events);
    else if (a.fn === 'count') values[a.name] = w.count;
    else if (a.fn === 'sum') values[a.name] = w.sums[i]!;
    else if (a.fn === 'min') values[a.name] = w.count === 0 ? null : w.mins[i]!;
    else if (a.fn === 'max') values[a.name] = w.count === 0 ? null : w.maxs[i]!;
    else values[a.name] = w.count === 0 ? null : w.sums[i]! / w.count;
  });
  return { window: w.def.name, group: w.group, start: w.start, end: w.end, final: true, values };
}
