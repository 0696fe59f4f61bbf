// The per-lane data path over one batch: validate → dedupe → late → stream time → aggregate,
// record by record in offset order (so results never depend on where a batch ends), then close
// the windows stream time has passed and forget expired ids. It reads and writes state only
// through a BatchStore (a store transaction), and returns records; it never talks to Kafka.
import type { InputRecord, OutRecord } from '../model/records.ts';
import type { InputFormat, OutputValueEncoder } from '../model/value-format.ts';
import type { BatchStore } from '../model/store-ports.ts';
import type { WindowState } from '../model/window-state.ts';
import { addEvent, hasStateLimits, initAccumulator, stateLimitRefusal } from './aggregates.ts';
import type { StateLimitRefusal } from './aggregates.ts';
import { DLQ_HEADER, deadLetterRecord } from './dead-letter.ts';
import { compileDecoder } from './decode.ts';
import { Enricher } from './enrich.ts';
import type { TableRows } from '../model/store-ports.ts';
import type { Decoder } from './decode.ts';
import { DedupeProcessor } from './dedupe.ts';
import { closeIdleWindows, idleDefinitions } from './idle-close.ts';
import { isLegacyStateOf, legacyWindowKey } from './legacy-keys.ts';
import { formatOutput, groupKeyPrefix, isWindowKey, windowKeyAt } from './output-record.ts';
import type { ResultBounds } from './output-record.ts';
import { partialRecord, watermarkRecords } from './partials.ts';
import { expireRetained, retainFinal } from './retained.ts';
import { SessionWindows } from './sessions.ts';
import { keepTraceContext, traceContextOf } from './trace-links.ts';
import type { TracedResult } from './trace-links.ts';
import type { PipelineSpec, WindowSpec } from './types.ts';
import { allWindowsClosed, dedupeRetentionMs, specWindowStartsInto, closedMark } from './window-math.ts';

export interface BatchTopics {
  input: string;
  output: string;
  deadLetter: string;
  /** cross-partition windows: window name -> its partials topic */
  partials?: ReadonlyMap<string, string>;
  /** partition count of every partials topic (that of the input topic) */
  partialsPartitions?: number;
  /** the output partition of every result (output.partitioning: input); absent: by key */
  outputPartition?: number | undefined;
}

export interface BatchStats {
  records: number;
  duplicates: number;
  late: number;
  deadLetters: Map<string, number>;
  finals: number;
  updates: number;
  partials: number;
  forgotten: number;
  /** state of windows removed from the config, dropped without output */
  dropped: number;
  /** enrichment lookups that found no row, by `table|missing` (absent without enrichment) */
  enrichMisses?: Map<string, number>;
}

export interface BatchResult {
  /** how many input records were processed: fewer than given when the deadline passed */
  consumed: number;
  records: OutRecord[];
  streamTime: number;
  stats: BatchStats;
  /** traced batches only: every window result among `records`, with its window's input trace contexts */
  traced?: TracedResult[];
}

/** Larger values are left out of dead letters (see deadLetter). */
const DEAD_LETTER_VALUE_LIMIT = 900 * 1024;

/** Forgetting ids is lazy housekeeping; capping it keeps one batch's transaction small. */
const FORGET_PER_BATCH = 5000;

/**
 * The accumulator a store from before the JSON window keys holds for this window and group, if
 * any (see legacy-keys.ts); `take` removes it from under its legacy key.
 */
function legacyAccumulator(store: BatchStore, windowName: string, group: readonly unknown[], start: number, take: boolean): unknown[] | undefined {
  const legacyKey = legacyWindowKey(windowName, group, start);
  const legacy = store.getWindow(legacyKey);
  if (legacy === undefined || !isLegacyStateOf(legacy, windowName, group, start)) return undefined;
  if (take) store.deleteWindow(legacyKey);
  return legacy.a;
}

const NO_STATE: readonly unknown[] = [];

const noStats = (): BatchStats => ({ records: 0, duplicates: 0, late: 0, deadLetters: new Map(), finals: 0, updates: 0, partials: 0, forgotten: 0, dropped: 0 });

export class BatchProcessor {
  private readonly spec: PipelineSpec;
  private readonly topics: BatchTopics;
  private readonly partition: number;
  private readonly decode: Decoder;
  private readonly enricher: Enricher | undefined;
  private readonly format: InputFormat | undefined;
  private readonly encodeOutput: OutputValueEncoder | undefined;
  private readonly windowsByName = new Map<string, WindowSpec>();
  // Reused across records: the window starts of the current event.
  private readonly starts: number[] = [];
  // Per window definition, the latest start closed as of this batch's start (BatchStore.closedThrough).
  private readonly closed: number[] = [];
  private readonly marks: string[];
  /** per window definition: whether an aggregate of it may refuse an event (stateLimitRefusal) */
  private readonly limited: boolean[];
  private readonly anyLimited: boolean;
  /** the session windows' late test and aggregation; undefined when the pipeline has none */
  private readonly sessions: SessionWindows | undefined;
  /**
   * The stream time of the first batch this processor ran. A window starts at or before the
   * stream time of the event that creates it, so one starting later was created by this code,
   * never under a legacy key: only older windows need the legacy lookup, which keeps it off the
   * steady-state hot path (about 0.6 lookups per event in bench/in-process/hot-path.ts otherwise).
   */
  private legacyUpTo: number | undefined;
  /**
   * The last idle close's wall-clock time and how many definitions were idle then: until input
   * comes (process) or more definitions turn idle, every window it could close with a close time
   * at or before that is closed, or a session marked closed; the next looks only past it.
   */
  private idleScan: { now: number; idle: number } | undefined;
  /** the traced batch's window results so far; undefined while the batch is not traced */
  private traced: TracedResult[] | undefined;
  /** how long a final is kept for queries (retained.ts); 0: none */
  private readonly retentionMs: number;

  /**
   * `tables`: the rows of every table that `spec.enrich` looks up, by table name. `formats`: how
   * input values become events and results become output values; JSON for what they leave out.
   */
  constructor(spec: PipelineSpec, topics: BatchTopics, partition: number, deps: { tables?: ReadonlyMap<string, TableRows>; formats?: { input?: InputFormat; output?: OutputValueEncoder } } = {}) {
    this.spec = spec;
    this.topics = topics;
    this.partition = partition;
    this.format = deps.formats?.input;
    this.encodeOutput = deps.formats?.output;
    this.enricher = spec.enrich !== undefined && spec.enrich.length > 0 ? new Enricher(spec.enrich, deps.tables ?? new Map()) : undefined;
    this.decode = compileDecoder(spec, this.format?.decodeValue, this.enricher);
    for (const w of spec.windows) this.windowsByName.set(w.name, w);
    this.marks = spec.windows.map(closedMark);
    this.limited = spec.windows.map((w) => hasStateLimits(w.aggregates));
    this.anyLimited = this.limited.includes(true);
    this.sessions = spec.windows.some((w) => w.kind === 'session') ? new SessionWindows(spec.windows) : undefined;
    this.retentionMs = spec.queryRetentionMs ?? 0;
  }

  /** A lane opening its store (again): what an earlier idle close found says nothing of it. */
  onOpen(): void {
    this.idleScan = undefined;
  }

  /** Loads what decoding these records needs (their schemas) before the synchronous `process`. */
  async prepare(records: readonly InputRecord[]): Promise<void> {
    await this.format?.prepare?.(records);
  }

  /**
   * Processes records in order until all are done or `deadline` (a `performance.now()` time)
   * passes, so that a slow batch still commits within the configured interval. `traced`: tracing
   * is on (the one check per batch): windows keep their inputs' trace contexts and the result lists
   * its window results (BatchResult.traced).
   */
  process(records: readonly InputRecord[], store: BatchStore, streamTimeIn: number, deadline = Number.POSITIVE_INFINITY, traced = false): BatchResult {
    const spec = this.spec;
    const out: OutRecord[] = [];
    const traces = (this.traced = traced ? [] : undefined);
    const stats = noStats();
    const dedupe = spec.idField !== undefined && spec.dedupeTtlMs !== undefined ? new DedupeProcessor(store, spec.dedupeTtlMs, dedupeRetentionMs(spec)) : undefined;
    let streamTime = streamTimeIn;
    let consumed = records.length;
    for (let w = 0; w < spec.windows.length; w++) this.closed[w] = store.closedThrough(this.marks[w]!);
    this.legacyUpTo ??= streamTimeIn;
    this.idleScan = undefined;

    for (let i = 0; i < records.length; i++) {
      // Reading the clock costs more than a record; look every 64 records.
      if ((i & 63) === 63 && performance.now() >= deadline) {
        consumed = i;
        break;
      }
      const rec = records[i]!;
      const d = this.decode(rec.key, rec.value, Number(rec.timestamp));
      if (!d.ok) {
        if (d.drop !== true) this.deadLetter(out, stats, rec, d.reason, d.field, d.detail);
        continue;
      }
      const t = d.eventTime;
      // Dedupe before lateness, reading only: a retry is a duplicate even once its windows have
      // closed, and a late event's id is not recorded (it was not counted).
      const t0 = dedupe !== undefined && d.id !== undefined ? dedupe.firstSeen(d.id) : undefined;
      if (t0 !== undefined && dedupe!.isDuplicate(t0, t, streamTime)) {
        stats.duplicates++;
        continue;
      }
      if (allWindowsClosed(t, spec.windows, streamTime, this.closed)) {
        stats.late++;
        this.deadLetter(out, stats, rec, 'late', undefined, `event time ${t} is behind stream time ${streamTime}: every window it belongs to has closed`);
        continue;
      }
      if (this.sessions?.lateForAll(d.event, t, streamTime, this.closed, store) === true) {
        stats.late++;
        this.deadLetter(out, stats, rec, 'late', undefined, `event time ${t}: every window it belongs to has closed, a session it would join by idleness`);
        continue;
      }
      // A refused event is not counted anywhere, so, like a late one, it neither records its id
      // nor moves stream time (which would close no window it goes to either way).
      const refused = this.anyLimited ? this.refusal(d.event, t, streamTime, store) : undefined;
      if (refused !== undefined) {
        this.deadLetter(out, stats, rec, 'state-limit', refused.field, refused.detail);
        continue;
      }
      if (dedupe !== undefined && d.id !== undefined) dedupe.record(d.id, t, t0);
      if (t > streamTime) streamTime = t;
      this.aggregate(d.event, t, streamTime, store, traced ? traceContextOf(rec) : undefined);
    }

    // Partials first: a cross-partition window that closes in this batch still owes the merge
    // its last value, and the merge needs it before this batch's watermark.
    const partials = this.topics.partials;
    if (partials !== undefined && partials.size > 0) {
      for (const key of store.touchedWindows) {
        const state = store.getWindow(key);
        const topic = state === undefined ? undefined : partials.get(state.w);
        if (state === undefined || topic === undefined) continue;
        out.push(partialRecord(topic, this.topics.partialsPartitions ?? 1, state, this.partition, traced));
        stats.partials++;
      }
    }
    const now = Date.now();
    for (const key of store.windowsClosingBy(streamTime)) {
      const state = store.getWindow(key);
      if (state === undefined) continue;
      if (state.f === 1) {
        // A session an idle close wrote the final of (sessions.ts): now closed by stream time too.
      } else if (partials?.has(state.w)) {
        // The merge lane writes this window's final once every source has passed it.
      } else if (this.windowsByName.has(state.w)) {
        out.push(this.outputRecord(state, true, key));
        if (this.retentionMs > 0) retainFinal(store, key, state, now + this.retentionMs);
        stats.finals++;
      } else {
        stats.dropped++;
      }
      // Sessions close out of start order (and never reopen: an event after one starts another).
      const win = this.windowsByName.get(state.w);
      if (win !== undefined && win.kind !== 'session') store.markClosed(closedMark(win), state.s);
      store.deleteWindow(key);
    }
    for (const key of store.touchedWindows) {
      const state = store.getWindow(key);
      if (state === undefined || this.windowsByName.get(state.w)?.emit !== 'update' || partials?.has(state.w)) continue;
      out.push(this.outputRecord(state, false, key));
      stats.updates++;
    }
    if (dedupe !== undefined) {
      for (const id of store.idsForgettableBy(streamTime, FORGET_PER_BATCH)) {
        store.forget(id);
        stats.forgotten++;
      }
    }
    expireRetained(store, now);
    if (partials !== undefined && Number.isFinite(streamTime)) {
      for (const topic of partials.values()) {
        for (const r of watermarkRecords(topic, this.topics.partialsPartitions ?? 1, this.partition, streamTime)) out.push(r);
      }
    }
    stats.records = consumed;
    if (this.enricher !== undefined) stats.enrichMisses = this.enricher.takeMisses();
    this.traced = undefined;
    return traces === undefined ? { consumed, records: out, streamTime, stats } : { consumed, records: out, streamTime, stats, traced: traces };
  }

  /**
   * An idle close at wall-clock time `now`, the partition quiet for `idleMs` (idle-close.ts): a
   * transaction with no input, whose finals are marked `closedBy: idle`. Stream time stays.
   */
  closeIdle(store: BatchStore, streamTime: number, now: number, idleMs: number, traced = false): BatchResult {
    const traces = (this.traced = traced ? [] : undefined);
    const idle = idleDefinitions(this.spec.windows, idleMs);
    const after = this.idleScan !== undefined && this.idleScan.idle === idle ? this.idleScan.now : undefined;
    // A session keeps its state (marked `f`) after this until stream time closes it, which writes no
    // second final and so retains none: each idle-closed window is retained once, here.
    const final = (state: WindowState, key: string): OutRecord => {
      if (this.retentionMs > 0) retainFinal(store, key, state, now + this.retentionMs, 'idle');
      return this.outputRecord(state, true, key, 'idle');
    };
    const records = closeIdleWindows(this.spec.windows, store, now, idleMs, final, after);
    expireRetained(store, now);
    this.idleScan = { now, idle };
    this.traced = undefined;
    const stats = noStats();
    stats.finals = records.length;
    return traces === undefined ? { consumed: 0, records, streamTime, stats } : { consumed: 0, records, streamTime, stats, traced: traces };
  }

  /** The open windows of definition `w` that an event at `t` goes to: their starts, in this.starts[0..n). */
  private openStarts(w: number, t: number, streamTime: number): number {
    const win = this.spec.windows[w]!;
    let open = 0;
    const n = specWindowStartsInto(t, win, this.starts);
    for (let j = 0; j < n; j++) {
      const start = this.starts[j]!;
      // Hopping: some of the event's windows may have closed already; only open ones take it.
      // A window closed before a config change gave it a longer grace stays closed: its final was written.
      if (streamTime >= start + win.sizeMs + win.graceMs || start <= this.closed[w]!) continue;
      this.starts[open++] = start;
    }
    return open;
  }

  /**
   * Why one of the event's windows cannot take it within its state limits, or undefined. Checked
   * for every window before any takes the event, so that a refused event counts nowhere.
   */
  private refusal(event: Record<string, unknown>, t: number, streamTime: number, store: BatchStore): StateLimitRefusal | undefined {
    const windows = this.spec.windows;
    for (let w = 0; w < windows.length; w++) {
      const win = windows[w]!;
      // A session's state is found by a range scan (sessions.ts), not at a start: the member
      // limit is not checked there (docs/output.md, State limits).
      if (!this.limited[w] || win.kind === 'session') continue;
      const n = this.openStarts(w, t, streamTime);
      if (n === 0) continue;
      const group = win.groupBy.map((field) => event[field]);
      const prefix = groupKeyPrefix(win.name, group);
      for (let j = 0; j < n; j++) {
        const start = this.starts[j]!;
        const stored = store.getWindow(windowKeyAt(prefix, start))?.a;
        const acc = stored ?? (start <= this.legacyUpTo! ? legacyAccumulator(store, win.name, group, start, false) : undefined);
        const why = stateLimitRefusal(acc ?? NO_STATE, win.aggregates, event);
        if (why !== undefined) return { field: why.field, detail: `window ${win.name} starting ${start}: ${why.detail}` };
      }
    }
    return undefined;
  }

  /** `trace`: the event's trace context (traceContextOf), null without one; undefined while tracing is off. */
  private aggregate(event: Record<string, unknown>, t: number, streamTime: number, store: BatchStore, trace: string | null | undefined): void {
    const windows = this.spec.windows;
    for (let w = 0; w < windows.length; w++) {
      const win = windows[w]!;
      if (win.kind === 'session') {
        this.sessions!.add(w, event, t, streamTime, store, trace);
        continue;
      }
      const n = this.openStarts(w, t, streamTime);
      let group: unknown[] | undefined;
      let prefix = '';
      for (let j = 0; j < n; j++) {
        const start = this.starts[j]!;
        if (group === undefined) {
          group = new Array<unknown>(win.groupBy.length);
          for (let g = 0; g < win.groupBy.length; g++) group[g] = event[win.groupBy[g]!];
          prefix = groupKeyPrefix(win.name, group);
        }
        const key = windowKeyAt(prefix, start);
        let state = store.getWindow(key);
        // A session an idle close wrote the final of, left by a config that made this window a
        // session under the same name: it waits for stream time (sessions.ts), and counting into
        // it would count its events twice (docs/semantics.md, Limits).
        if (state?.f === 1) continue;
        const created = state === undefined;
        if (state === undefined) {
          const legacy = start <= this.legacyUpTo! ? legacyAccumulator(store, win.name, group, start, true) : undefined;
          state = { w: win.name, g: group, s: start, a: legacy ?? initAccumulator(win.aggregates) };
        }
        addEvent(state.a, win.aggregates, event, t);
        if (trace) keepTraceContext(state, trace);
        store.putWindow(key, state, created);
      }
    }
  }

  /** `storeKey`: the window's key in the store, which is its output key unless it is a legacy one. */
  private outputRecord(state: WindowState, final: boolean, storeKey: string, closedBy?: ResultBounds['closedBy']): OutRecord {
    const win = this.windowsByName.get(state.w);
    if (win === undefined) throw new Error(`state holds window "${state.w}", which the pipeline does not define`);
    const { key, value } = formatOutput(win, state.g, state.s, state.a, final, isWindowKey(storeKey) ? storeKey : undefined, this.encodeOutput, { end: state.e, closedBy });
    const record: OutRecord = { topic: this.topics.output, partition: this.topics.outputPartition, key, value };
    this.traced?.push({ record, links: state.t, final });
    return record;
  }

  private deadLetter(out: OutRecord[], stats: BatchStats, rec: InputRecord, reason: string, field: string | undefined, detail: string): void {
    stats.deadLetters.set(reason, (stats.deadLetters.get(reason) ?? 0) + 1);
    // A value this large would not fit the dead-letter topic next to its headers (the broker's
    // default limit is 1 MiB), and a dead letter that cannot be written would stall the partition.
    const oversized = reason === 'oversized' || (rec.value?.length ?? 0) > DEAD_LETTER_VALUE_LIMIT;
    const dl = deadLetterRecord(
      this.topics.deadLetter,
      {
        topic: this.topics.input,
        partition: this.partition,
        offset: rec.offset,
        timestamp: rec.timestamp,
        key: rec.key,
        // Its origin headers say where to find the value.
        value: oversized ? null : rec.value,
        headers: rec.headers,
      },
      reason,
      field,
      detail,
    );
    if (oversized && dl.headers) dl.headers[`${DLQ_HEADER.reason}.size`] = String(rec.value?.length ?? 0);
    out.push(dl);
  }
}
