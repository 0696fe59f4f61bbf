// A deliberately naive re-implementation of sluice's observable output, written from the spec and
// not from src/, so an engine bug cannot be copied into the thing that checks it. Clarity beats
// speed here: a Map of open windows and brute-force scans over them.

export type OracleRecord = { partition: number; offset: number; key: string | null; value: string | null; timestampMs: number };

export type OracleAggregateFn = 'count' | 'sum' | 'min' | 'max' | 'avg';

export type OracleAggregate = { name: string; fn: OracleAggregateFn; field?: string };

export type OracleWindow = {
  name: string;
  groupBy: string[];
  sizeMs: number;
  /** Equal to sizeMs for tumbling windows. */
  advanceMs: number;
  graceMs: number;
  aggregates: OracleAggregate[];
};

export type OracleConfig = {
  keyField: string;
  idField?: string;
  ttlMs?: number;
  eventTimeField?: string;
  maxRecordBytes: number;
  windows: OracleWindow[];
};

export type OracleReason =
  | 'oversized'
  | 'invalid-json'
  | 'missing-field'
  | 'invalid-id'
  | 'invalid-event-time'
  | 'not-a-number'
  | 'key-mismatch'
  | 'late';

export type OracleOutput = {
  window: string;
  group: Record<string, unknown>;
  start: number;
  end: number;
  final: true;
  values: Record<string, number | null>;
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
};

type Decoded = { ok: true; event: Record<string, unknown>; time: number; id: string | undefined } | { ok: false; reason: OracleReason };

export function runOracle(records: readonly OracleRecord[], cfg: OracleConfig): OracleResult {
  const result = emptyResult(cfg);
  for (const [partition, list] of byPartition(records)) {
    for (const w of runPartition(partition, list, cfg, result).closed) addFinal(result, w);
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
  return { finals: new Map(), deadLetters: new Map(), duplicates: new Map(), streamTime: new Map(), accepted: 0, outcomes: new Map() };
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
  const merged: OpenWindow = { ...first, sums: [...first.sums], mins: [...first.mins], maxs: [...first.maxs] };
  for (const w of parts.slice(1)) {
    merged.count += w.count;
    w.sums.forEach((v, i) => (merged.sums[i] = merged.sums[i]! + v));
    w.mins.forEach((v, i) => (merged.mins[i] = Math.min(merged.mins[i]!, v)));
    w.maxs.forEach((v, i) => (merged.maxs[i] = Math.max(merged.maxs[i]!, v)));
  }
  return merged;
}

/** Every window this partition closed, in closing order, and the ones still open at its end. */
type PartitionRun = { streamTime: number; closed: OpenWindow[]; open: Map<string, OpenWindow> };

function runPartition(partition: number, records: readonly OracleRecord[], cfg: OracleConfig, result: OracleResult): PartitionRun {
  let streamTime = -Infinity;
  let duplicates = 0;
  const firstSeen = new Map<string, number>();
  const open = new Map<string, OpenWindow>();
  const closed: OpenWindow[] = [];

  for (const record of records) {
    const where = `${partition}:${record.offset}`;
    const decoded = decode(record, cfg);
    if (!decoded.ok) {
      result.deadLetters.set(where, decoded.reason);
      result.outcomes.set(where, decoded.reason);
      continue;
    }
    const t = decoded.time;

    const isLate = cfg.windows.every((w) => windowStarts(t, w).every((s) => isClosed(s, w, streamTime)));
    if (isLate) {
      result.deadLetters.set(where, 'late');
      result.outcomes.set(where, 'late');
      continue;
    }

    if (decoded.id !== undefined) {
      const t0 = firstSeen.get(decoded.id);
      if (t0 !== undefined && t <= t0 + cfg.ttlMs!) {
        duplicates++;
        result.outcomes.set(where, 'duplicate');
        continue;
      }
      firstSeen.set(decoded.id, t);
    }

    const advanced = t > streamTime;
    streamTime = Math.max(streamTime, t);
    // Closing before adding is the same as closing after: the event never joins a closed window.
    for (const [key, w] of advanced ? open : []) {
      if (isClosed(w.start, w.def, streamTime)) {
        closed.push(w);
        open.delete(key);
      }
    }

    for (const def of cfg.windows) {
      for (const start of windowStarts(t, def)) {
        if (isClosed(start, def, streamTime)) continue;
        addEvent(open, def, start, decoded.event);
      }
    }
    result.accepted++;
    result.outcomes.set(where, 'accepted');
  }

  result.duplicates.set(partition, duplicates);
  result.streamTime.set(partition, streamTime);
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

function addEvent(open: Map<string, OpenWindow>, def: OracleWindow, start: number, event: Record<string, unknown>): void {
  const groupValues = def.groupBy.map((f) => field(event, f));
  const key = `${def.name}|${groupValues.map((v) => String(v)).join('|')}|${start}`;
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
    };
    open.set(key, w);
  }
  w.count++;
  def.aggregates.forEach((a, i) => {
    if (a.fn === 'count') return;
    const v = field(event, a.field!) as number;
    w.sums[i] = w.sums[i]! + v;
    w.mins[i] = Math.min(w.mins[i]!, v);
    w.maxs[i] = Math.max(w.maxs[i]!, v);
  });
}

function finalValue(w: OpenWindow): OracleOutput {
  const values: Record<string, number | null> = {};
  w.def.aggregates.forEach((a, i) => {
    if (a.fn === 'count') values[a.name] = w.count;
    else if (a.fn === 'sum') values[a.name] = w.sums[i]!;
    else if (a.fn === 'min') values[a.name] = w.count === 0 ? null : w.mins[i]!;
    else if (a.fn === 'max') values[a.name] = w.count === 0 ? null : w.maxs[i]!;
    else values[a.name] = w.count === 0 ? null : w.sums[i]! / w.count;
  });
  return { window: w.def.name, group: w.group, start: w.start, end: w.end, final: true, values };
}

// Own properties only: "constructor" or "toString" must not be found on Object.prototype.
function field(event: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(event, name) ? event[name] : undefined;
}

function absent(v: unknown): boolean {
  return v === undefined || v === null;
}

function decode(record: OracleRecord, cfg: OracleConfig): Decoded {
  const value = record.value;
  if (value !== null && Buffer.byteLength(value, 'utf8') > cfg.maxRecordBytes) return { ok: false, reason: 'oversized' };
  if (value === null || value === '') return { ok: false, reason: 'invalid-json' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ok: false, reason: 'invalid-json' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'invalid-json' };
  const event = parsed as Record<string, unknown>;

  let id: string | undefined;
  if (cfg.idField !== undefined) {
    const raw = field(event, cfg.idField);
    if (absent(raw)) return { ok: false, reason: 'missing-field' };
    if (typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw))) id = String(raw);
    else return { ok: false, reason: 'invalid-id' };
  }

  let time = record.timestampMs;
  if (cfg.eventTimeField !== undefined) {
    const raw = field(event, cfg.eventTimeField);
    if (absent(raw)) return { ok: false, reason: 'missing-field' };
    const parsedTime = parseEventTime(raw);
    if (parsedTime === undefined) return { ok: false, reason: 'invalid-event-time' };
    time = parsedTime;
  }

  for (const w of cfg.windows) {
    for (const f of w.groupBy) if (absent(field(event, f))) return { ok: false, reason: 'missing-field' };
  }
  for (const w of cfg.windows) {
    for (const a of w.aggregates) {
      if (a.fn === 'count') continue;
      if (a.field === undefined) throw new Error(`oracle: aggregate ${w.name}.${a.name} has no field`);
      const raw = field(event, a.field);
      if (absent(raw)) return { ok: false, reason: 'missing-field' };
      if (typeof raw !== 'number' || !Number.isFinite(raw)) return { ok: false, reason: 'not-a-number' };
    }
  }

  const keyValue = field(event, cfg.keyField);
  if (record.key === null || absent(keyValue) || record.key !== String(keyValue)) return { ok: false, reason: 'key-mismatch' };
  return { ok: true, event, time, id };
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch ms from a finite number, a zoned ISO-8601 date-time, or a UTC date; undefined otherwise.
 * Parsed by hand with calendar checks rather than Date.parse, which would roll 2024-02-30 over.
 * Fractions finer than a millisecond are truncated.
 */
export function parseEventTime(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const dateOnly = DATE_ONLY.exec(raw);
  if (dateOnly) {
    const [y, mo, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    return validDate(y, mo, d) ? utcMs(y, mo, d, 0, 0, 0, 0) : undefined;
  }
  const m = DATE_TIME.exec(raw);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  const s = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return utcMs(y, mo, d, h, mi, s, ms) - offsetMin * 60_000;
}

// Date.UTC maps years 0–99 to 19xx; setUTCFullYear takes the year as written.
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  return d <= days;
}
