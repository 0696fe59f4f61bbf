// Structural stand-ins for the config module's inferred types; kept plain so the
// swap to `z.infer<...>` later is a type-only change.

export type AggregateFnName = 'count' | 'sum' | 'min' | 'max' | 'avg';

export type AggregateSpec = {
  name: string;
  fn: AggregateFnName;
  field: string | undefined;
};

export type WindowSpec = {
  name: string;
  groupBy: string[];
  kind: 'tumbling' | 'hopping';
  sizeMs: number;
  advanceMs: number;
  graceMs: number;
  emit: 'final' | 'update';
  aggregates: AggregateSpec[];
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
};
