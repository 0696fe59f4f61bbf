export type { AggregateFnName, AggregateSpec, PipelineSpec, WindowSpec } from './types.ts';
export {
  allWindowsClosed,
  dedupeForgetAfter,
  dedupeRetentionMs,
  floorTo,
  isClosed,
  specWindowStartsInto,
  windowAdvanceMs,
  windowCloseTime,
  windowStartsFor,
  windowStartsInto,
} from './window-math.ts';
export type { AggregateFn, AvgState } from './aggregates.ts';
export {
  AGGREGATES,
  accumulatorResult,
  addEvent,
  avgFn,
  countFn,
  initAccumulator,
  maxFn,
  mergeAccumulators,
  minFn,
  sumFn,
} from './aggregates.ts';
export type { DecodeFailure, DecodeFailureReason, DecodeResult, DecodeSuccess, Decoder } from './decode.ts';
export { compileDecoder, decodeRecord, parseEventTime } from './decode.ts';
export type { DedupeStore, DedupeVerdict } from './dedupe.ts';
export { DedupeProcessor } from './dedupe.ts';
export type { OutputRecord } from './output-record.ts';
export { formatOutput, windowKey } from './output-record.ts';
