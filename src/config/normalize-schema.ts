// The `normalize:` section of the pipeline config (part of schema.ts, in a file of its own for
// size): an ordered list of steps, each an object with exactly one key naming what it does.
// The transform hands the processors a tagged union (src/processors/types.ts, NormalizeStep).
import { z } from 'zod';

const NORMALIZE_OPS = ['rename', 'default', 'coerce', 'drop', 'match'] as const;

// Writing "__proto__" would replace an event's prototype instead of setting a field.
const stepField = z
  .string()
  .min(1, { error: 'field name cannot be empty' })
  .refine((name) => name !== '__proto__', { error: 'field name "__proto__" is not supported' });

/**
 * The classic shape of exponential backtracking: a quantified group that itself ends in a
 * quantifier, such as `(a+)+` or `(\w*)*`. Not every slow pattern, but the usual mistake.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}]\)[+*{]/;

const pattern = z
  .string()
  .min(1, { error: 'pattern cannot be empty' })
  .superRefine((text, ctx) => {
    try {
      new RegExp(text, 'u');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
      return;
    }
    if (NESTED_QUANTIFIER.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'a quantified group that ends in a quantifier, like (a+)+, can backtrack for exponential time on one bad event and stall its partition; rewrite it without the nesting' });
    }
  })
  .describe('A JavaScript regular expression (Unicode mode), unanchored unless you write ^ and $. Tested against the field as a string; numbers and booleans as their JSON text.');

const step = z
  .strictObject({
    rename: z
      .strictObject({ from: stepField.describe('Field to rename; nothing happens when absent.'), to: stepField.describe('New name; an existing field of that name is overwritten.') })
      .optional()
      .describe('Move a field to another name.'),
    default: z
      .strictObject({
        field: stepField.describe('Field to fill.'),
        value: z.union([z.string(), z.number(), z.boolean()]).describe('Value set when the field is missing or null: a string, number or boolean.'),
      })
      .optional()
      .describe('Fill a missing or null field.'),
    coerce: z
      .strictObject({
        field: stepField.describe('Field to convert; a missing or null field is left alone (validation or a default step deals with it).'),
        to: z
          .enum(['number', 'epoch-ms', 'string'])
          .describe('number: a finite number stays, a string in JSON number syntax becomes that number (not "", " 1", "0x10", "012", "1e999"). epoch-ms: a finite number stays, an ISO-8601 string with a zone (or a date alone, UTC) becomes epoch milliseconds, by the same rules as input.eventTime. string: a finite number or boolean becomes its JSON text. Anything else dead-letters the record as invalid.'),
      })
      .optional()
      .describe('Convert a field to a type.'),
    drop: z.array(stepField).min(1, { error: 'drop needs at least one field' }).optional().describe('Fields to delete; absent ones are ignored.'),
    match: z
      .strictObject({ field: stepField.describe('Field to test; missing, null, an object or an array fails.'), pattern })
      .optional()
      .describe('Require a field to match a regular expression; a record that does not is dead-lettered as invalid.'),
  })
  .superRefine((value, ctx) => {
    const ops = NORMALIZE_OPS.filter((op) => value[op] !== undefined);
    if (ops.length !== 1) {
      ctx.addIssue({ code: 'custom', message: ops.length === 0 ? `a step needs one of ${NORMALIZE_OPS.join(', ')}` : `one operation per step, got ${ops.join(' and ')}: make them separate steps` });
    }
  })
  .meta({ oneOf: NORMALIZE_OPS.map((op) => ({ required: [op] })) })
  .transform((value) => {
    if (value.rename) return { op: 'rename' as const, ...value.rename };
    if (value.default) return { op: 'default' as const, ...value.default };
    if (value.coerce) return { op: 'coerce' as const, ...value.coerce };
    if (value.drop) return { op: 'drop' as const, fields: value.drop };
    return { op: 'match' as const, field: value.match!.field, pattern: value.match!.pattern };
  });

const NORMALIZE_DESCRIPTION =
  'Steps run on every parsed event before validation, one after another in the order listed: each sees what the steps before it made. A failed coercion or match dead-letters the record with reason `invalid`, the field in `sluice.field` and `sluice.stage` `normalize`; later steps do not run. See docs/dead-letters.md for replaying such records once the config accepts them.';

/** Shown in docs/config.md (the JSON schema cannot carry examples of a transformed type). */
export const NORMALIZE_EXAMPLE = [
  { rename: { from: 'player_id', to: 'playerId' } },
  { default: { field: 'region', value: 'unknown' } },
  { coerce: { field: 'points', to: 'number' } },
  { coerce: { field: 'ts', to: 'epoch-ms' } },
  { drop: ['debug', 'trace'] },
  { match: { field: 'playerId', pattern: '^p[0-9]+$' } },
];

export const normalizeSection = z.array(step).prefault([]).describe(NORMALIZE_DESCRIPTION);
