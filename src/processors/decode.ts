import type { Enricher } from './enrich.ts';
import { compileNormalizer } from './normalize.ts';
import type { ValueDecoder, ValueFailureReason } from '../model/value-format.ts';
import { parseJsonValue } from './json-value.ts';
import type { PipelineSpec } from './types.ts';

export type DecodeFailureReason =
  | 'oversized'
  | ValueFailureReason
  | 'missing-field'
  | 'invalid-id'
  | 'invalid-event-time'
  | 'invalid-group'
  | 'not-a-number'
  | 'not-a-scalar'
  | 'key-mismatch'
  /** a normalize step's coercion or match failed */
  | 'invalid'
  /** an enrich lookup with `missing: dead-letter` found no row */
  | 'enrich-miss';

export type DecodeSuccess = {
  ok: true;
  event: Record<string, unknown>;
  eventTime: number;
  id: string | undefined;
};

export type DecodeFailure = {
  ok: false;
  reason: DecodeFailureReason;
  field?: string;
  detail: string;
  /** dropped on purpose (an enrich miss with `missing: drop`), not dead-lettered */
  drop?: true;
};

export type DecodeResult = DecodeSuccess | DecodeFailure;

export type Decoder = (key: Buffer | null, value: Buffer | null, timestampMs: number) => DecodeResult;

// Only the ECMAScript date-time form, and a time of day must carry a zone:
// Date.parse reads zone-less date-times in the host's local zone, which would make
// window assignment depend on where the processor runs. Date-only forms are UTC.
const ISO_8601 = /^[+-]?\d{4,6}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

/** Epoch ms from a finite number or an ISO-8601 string with zone; NaN when unusable. */
export function parseEventTime(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v === 'string' && ISO_8601.test(v)) return Date.parse(v);
  return NaN;
}

type FieldRef = {
  name: string;
  // Names like "constructor" resolve through Object.prototype when absent.
  inherited: boolean;
};

/** An aggregate field: a finite number for the numeric aggregates, any scalar for the others. */
type AggregateRef = FieldRef & { numeric: boolean; detail: string };

function fieldRef(name: string): FieldRef {
  // JSON.parse stores "__proto__" as an own property, but every later
  // `event[name]` read would still hit the accessor, so it cannot be supported.
  if (name === '__proto__') throw new Error('field name "__proto__" is not supported');
  return { name, inherited: name in Object.prototype };
}

function read(event: Record<string, unknown>, ref: FieldRef): unknown {
  if (ref.inherited && !Object.hasOwn(event, ref.name)) return undefined;
  return event[ref.name];
}

function fail(reason: DecodeFailureReason, field: string | undefined, detail: string): DecodeFailure {
  return field === undefined ? { ok: false, reason, detail } : { ok: false, reason, field, detail };
}

function missing(field: string, what: string): DecodeFailure {
  return fail('missing-field', field, `${what} field "${field}" is missing or null`);
}

/**
 * Every field an aggregate reads, at its first use (windows, then aggregates, in config order; a
 * topK's member before its ranking field). A field any numeric aggregate reads must be a finite
 * number; the others (first, last, countDistinct, a topK member) may hold any scalar.
 */
function aggregateFields(spec: PipelineSpec): Map<string, AggregateRef> {
  const refs = new Map<string, AggregateRef>();
  const use = (field: string, numeric: boolean, what: string): void => {
    const known = refs.get(field);
    const detail = `${what} needs ${numeric ? 'a finite number' : 'a string, number or boolean'} in field "${field}"`;
    if (known === undefined) refs.set(field, { ...fieldRef(field), numeric, detail });
    else if (numeric && !known.numeric) refs.set(field, { ...known, numeric, detail });
  };
  for (const w of spec.windows) {
    for (const a of w.aggregates) {
      const what = `aggregate "${w.name}.${a.name}" (${a.fn})`;
      if (a.fn === 'count') continue;
      if (a.fn === 'topK') {
        use(a.field, false, what);
        if (a.by.fn !== 'count') use(a.by.field, true, what);
      } else {
        use(a.field, a.fn !== 'first' && a.fn !== 'last' && a.fn !== 'countDistinct', what);
      }
    }
  }
  return refs;
}

/**
 * Builds a decoder with every field list resolved once. A field used by several
 * windows is checked once, at its first position, which yields the same first
 * failure as checking every occurrence. `enricher` runs right after parsing, so the
 * checks below see the fields it copied in (a window may group by one).
 */
export function compileDecoder(spec: PipelineSpec, decodeValue: ValueDecoder = parseJsonValue, enricher?: Enricher): Decoder {
  const maxBytes = spec.maxRecordBytes;
  const normalize = compileNormalizer(spec.normalize ?? []);
  const keyRef = fieldRef(spec.keyField);
  const idRef = spec.idField === undefined ? undefined : fieldRef(spec.idField);
  const timeRef = spec.eventTimeField === undefined ? undefined : fieldRef(spec.eventTimeField);

  const groupRefs: FieldRef[] = [];
  const seenGroup = new Set<string>();
  for (const w of spec.windows) {
    for (const f of w.groupBy) {
      if (seenGroup.has(f)) continue;
      seenGroup.add(f);
      groupRefs.push(fieldRef(f));
    }
  }
  const aggregateRefs = [...aggregateFields(spec).values()];

  return function decode(key: Buffer | null, value: Buffer | null, timestampMs: number): DecodeResult {
    const size = value === null ? 0 : value.length;
    if (size > maxBytes) return fail('oversized', undefined, `value is ${size} bytes, limit is ${maxBytes}`);
    const decoded = decodeValue(value);
    if (!decoded.ok) return fail(decoded.reason, undefined, decoded.detail);
    const event = decoded.event;
    const invalid = normalize?.(event);
    if (invalid !== undefined) return fail('invalid', invalid.field, invalid.detail);
    if (enricher !== undefined) {
      const miss = enricher.apply(event);
      if (miss !== undefined) return miss.missing === 'drop' ? { ok: false, reason: 'enrich-miss', field: miss.field, detail: miss.detail, drop: true } : fail('enrich-miss', miss.field, miss.detail);
    }

    let id: string | undefined;
    if (idRef !== undefined) {
      const raw = read(event, idRef);
      if (raw === undefined || raw === null) return missing(idRef.name, 'id');
      if (typeof raw === 'string' && raw.isWellFormed()) id = raw;
      else if (typeof raw === 'number' && Number.isFinite(raw)) id = String(raw);
      else return fail('invalid-id', idRef.name, `id field "${idRef.name}" must be a string or a finite number, got ${describe(raw)}`);
    }

    let eventTime = timestampMs;
    if (timeRef !== undefined) {
      const raw = read(event, timeRef);
      if (raw === undefined || raw === null) return missing(timeRef.name, 'event-time');
      eventTime = parseEventTime(raw);
      // Beyond a Date's range, adding a window size or gap no longer changes the number.
      if (Number.isNaN(eventTime) || Math.abs(eventTime) > MAX_EVENT_TIME) {
        return fail('invalid-event-time', timeRef.name, `event-time field "${timeRef.name}" must be epoch ms or an ISO-8601 string with a zone, got ${describe(raw)}`);
      }
    }

    for (let i = 0; i < groupRefs.length; i++) {
      const ref = groupRefs[i]!;
      const raw = read(event, ref);
      if (raw === undefined || raw === null) return missing(ref.name, 'groupBy');
      // No one means to group by a whole object or array, and they have no canonical key.
      if (!isScalarValue(raw)) return fail('invalid-group', ref.name, `groupBy field "${ref.name}" must be a well-formed string, a finite number or a boolean, got ${describe(raw)}`);
    }

    for (let i = 0; i < aggregateRefs.length; i++) {
      const ref = aggregateRefs[i]!;
      const raw = read(event, ref);
      if (raw === undefined || raw === null) return fail('missing-field', ref.name, ref.detail);
      if (ref.numeric ? !Number.isFinite(raw) : !isScalarValue(raw)) return fail(ref.numeric ? 'not-a-number' : 'not-a-scalar', ref.name, `${ref.detail}, got ${describe(raw)}`);
    }

    const keyValue = read(event, keyRef);
    if (keyValue === undefined || keyValue === null) {
      return fail('key-mismatch', keyRef.name, `key field "${keyRef.name}" is missing or null`);
    }
    if (key === null) return fail('key-mismatch', keyRef.name, 'record has no key');
    const expected = String(keyValue);
    const actual = key.toString('utf8');
    if (actual !== expected) {
      return fail('key-mismatch', keyRef.name, `record key ${JSON.stringify(actual)} differs from field "${keyRef.name}" value ${JSON.stringify(expected)}`);
    }

    return { ok: true, event, eventTime, id };
  };
}

/** the epoch-ms range of a JavaScript Date */
const MAX_EVENT_TIME = 8.64e15;

/**
 * A value a group, a topK member or a first/last/countDistinct can hold: NaN would compare equal
 * to everything, infinities and lone surrogates do not survive LMDB and JSON the same way.
 */
function isScalarValue(v: unknown): boolean {
  if (typeof v === 'string') return v.isWellFormed();
  if (typeof v === 'number') return Number.isFinite(v);
  return typeof v === 'boolean';
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return `number ${v}`;
  return Array.isArray(v) ? 'array' : typeof v;
}
