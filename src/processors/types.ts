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

export type EnrichSpec = {
  table: string;
  on: string;
  fields: string[];
  missing: 'keep' | 'drop' | 'dead-letter';
};

export type PipelineSpec = {
  keyField: string;
  idField: string | undefined;
  dedupeTtlMs: number | undefined;
  eventTimeField: string | undefined;
  maxRecordBytes: number;
  windows: WindowSpec[];
  /** lookups in reference tables, in order, before dedupe (absent: none) */
  enrich?: EnrichSpec[];
};
