// The `normalize:` stage: rename, default, coerce, drop and match, in the order the config lists
// them, run on the parsed event before the decoder validates it (so a coercion can turn "12" into
// the 12 an aggregate needs). Compiled once per lane into an array of step functions that mutate
// the event in place: no per-event interpretation of the config and no copies of the event.
import { describe, parseEventTime } from './decode.ts';
import type { NormalizeStep } from './types.ts';

export interface NormalizeFailure {
  field: string;
  detail: string;
}

type Event = Record<string, unknown>;
type CompiledStep = (event: Event) => NormalizeFailure | undefined;
export type Normalizer = (event: Event) => NormalizeFailure | undefined;

/**
 * JSON's number grammar, the only strings `coerce: number` accepts: no "" (Number("") is 0), no
 * whitespace, no hex, octal or binary literals, no leading zeros, no "Infinity".
 */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

// Own properties only: "constructor" must not be found on Object.prototype.
const own = (event: Event, field: string): unknown => (Object.hasOwn(event, field) ? event[field] : undefined);
const absent = (v: unknown): boolean => v === undefined || v === null;

function coerceNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || !JSON_NUMBER.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function coerceEpochMs(v: unknown): number | undefined {
  const t = parseEventTime(v);
  return Number.isNaN(t) ? undefined : t;
}

function coerceString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}

const COERCIONS = {
  number: { convert: coerceNumber, expected: 'a finite number or a string in JSON number syntax' },
  'epoch-ms': { convert: coerceEpochMs, expected: 'epoch ms or an ISO-8601 string with a zone' },
  string: { convert: coerceString, expected: 'a string, a finite number or a boolean' },
} as const;

function compileStep(step: NormalizeStep): CompiledStep {
  switch (step.op) {
    case 'rename': {
      const { from, to } = step;
      return (event) => {
        if (!Object.hasOwn(event, from)) return undefined;
        event[to] = event[from];
        delete event[from];
        return undefined;
      };
    }
    case 'default': {
      const { field, value } = step;
      return (event) => {
        if (absent(own(event, field))) event[field] = value;
        return undefined;
      };
    }
    case 'drop': {
      const fields = [...step.fields];
      return (event) => {
        for (let i = 0; i < fields.length; i++) delete event[fields[i]!];
        return undefined;
      };
    }
    case 'coerce': {
      const { field } = step;
      const { convert, expected } = COERCIONS[step.to];
      return (event) => {
        const raw = own(event, field);
        // Presence is the validator's business (and `default`'s): coercion converts what is there.
        if (absent(raw)) return undefined;
        const converted = convert(raw);
        if (converted === undefined) return { field, detail: `coerce: field "${field}" must be ${expected} to become ${step.to}, got ${describe(raw)}` };
        event[field] = converted;
        return undefined;
      };
    }
    case 'match': {
      const { field, pattern } = step;
      const regex = new RegExp(pattern, 'u');
      return (event) => {
        const raw = own(event, field);
        const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
        if (text !== undefined && regex.test(text)) return undefined;
        return { field, detail: `match: field "${field}" must match /${pattern}/, got ${absent(raw) ? 'nothing' : describe(raw)}` };
      };
    }
  }
}

/** undefined when there is nothing to do, so the decoder skips the stage entirely. */
export function compileNormalizer(steps: readonly NormalizeStep[]): Normalizer | undefined {
  if (steps.length === 0) return undefined;
  for (const step of steps) {
    const fields = step.op === 'rename' ? [step.from, step.to] : step.op === 'drop' ? step.fields : [step.field];
    // A write to "__proto__" would replace the event's prototype instead of setting a field.
    if (fields.includes('__proto__')) throw new Error('field name "__proto__" is not supported');
  }
  const compiled = steps.map(compileStep);
  return (event) => {
    for (let i = 0; i < compiled.length; i++) {
      const failed = compiled[i]!(event);
      if (failed !== undefined) return failed;
    }
    return undefined;
  };
}
