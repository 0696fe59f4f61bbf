// Structural stand-ins for the config module's inferred types; kept plain so the
// swap to `z.infer<...>` later is a type-only change.

/** Aggregates over a numeric field; with `count`, what a topK may rank its members by. */
export type NumericAggregateFnName = 'sum' | 'min' | 'max' | 'avg';

/** Aggregates over one field of any scalar type (string, number or boolean). */
export type ScalarAggregateFnName = 'first' | 'last' | 'countDistinct';

export type AggregateFnName = 'count' | NumericAggregateFnName | ScalarAggregateFnName | 'quantiles' | 'topK';

/** What a topK ranks its members by: one of the plain aggregates, per member. */
export type RankSpec = { fn: 'count'; field: undefined } | { fn: NumericAggregateFnName; field: string };

export type AggregateSpec =
  | { name: string; fn: 'count'; field: undefined }
  | { name: string; fn: NumericAggregateFnName | ScalarAggregateFnName; field: string }
  /** `quantiles`: the ranks asked for, each in [0, 1], in config order */
  | { name: string; fn: 'quantiles'; field: string; quantiles: number[] }
  /**
   * `field` is the member (e.g. a player id), ranked by `by` within the window, best `k` kept; a
   * state holds at most `maxMembers` members
   */
  | { name: string; fn: 'topK'; field: string; k: number; by: RankSpec; maxMembers: number };

export type WindowSpec = {
  name: string;
  groupBy: string[];
  kind: 'tumbling' | 'hopping' | 'session';
  /** a session window's gap: the extent of a session of one event (docs/semantics.md) */
  sizeMs: number;
  advanceMs: number;
  graceMs: number;
  emit: 'final' | 'update';
  /** wall-clock idle time after which the partition's due windows close (docs/semantics.md, "Idle close"); none when absent */
  closeIdleAfterMs?: number | undefined;
  aggregates: AggregateSpec[];
};

export type EnrichSpec = {
  table: string;
  on: string;
  fields: string[];
  missing: 'keep' | 'drop' | 'dead-letter';
};

/** One `normalize:` step, as the config schema hands it over (see src/processors/normalize.ts). */
export type NormalizeStep =
  | { op: 'rename'; from: string; to: string }
  | { op: 'default'; field: string; value: string | number | boolean }
  | { op: 'coerce'; field: string; to: 'number' | 'epoch-ms' | 'string' }
  | { op: 'drop'; fields: readonly string[] }
  | { op: 'match'; field: string; pattern: string };

export type PipelineSpec = {
  keyField: string;
  idField: string | undefined;
  dedupeTtlMs: number | undefined;
  eventTimeField: string | undefined;
  maxRecordBytes: number;
  /** run on every parsed event before validation, in this order; none when absent */
  normalize?: readonly NormalizeStep[];
  windows: WindowSpec[];
  /** lookups in reference tables, in order, before dedupe (absent: none) */
  enrich?: EnrichSpec[];
  /** how long (wall clock) a closed window's final is kept for queries (http.queryRetention); 0 or absent: none */
  queryRetentionMs?: number;
};
