// The oracle's reading of the `normalize:` steps (docs/config.md), in the config's own shape and
// written from the docs, never from src/processors/normalize.ts, so a bug there cannot be copied.
import { field, parseEventTime } from './oracle-decode.ts';

export type OracleNormalizeStep =
  | { rename: { from: string; to: string } }
  | { default: { field: string; value: string | number | boolean } }
  | { coerce: { field: string; to: 'number' | 'epoch-ms' | 'string' } }
  | { drop: string[] }
  | { match: { field: string; pattern: string } };

/** "What JSON.parse reads as a number", with nothing around it. */
function jsonNumber(text: string): number | undefined {
  if (text.trim() !== text || text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : undefined;
}

function coerced(value: unknown, to: 'number' | 'epoch-ms' | 'string'): unknown {
  if (to === 'number') return typeof value === 'number' ? (Number.isFinite(value) ? value : undefined) : typeof value === 'string' ? jsonNumber(value) : undefined;
  if (to === 'epoch-ms') return parseEventTime(value);
  if (typeof value === 'string') return value;
  return typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) ? String(value) : undefined;
}

/** Applies the steps in order to `event` in place; false at the first failed coercion or match. */
export function normalizeEvent(event: Record<string, unknown>, steps: readonly OracleNormalizeStep[]): boolean {
  for (const step of steps) {
    if ('rename' in step) {
      if (!Object.hasOwn(event, step.rename.from)) continue;
      const moved = event[step.rename.from];
      delete event[step.rename.from];
      event[step.rename.to] = moved;
    } else if ('default' in step) {
      const current = field(event, step.default.field);
      if (current === undefined || current === null) event[step.default.field] = step.default.value;
    } else if ('drop' in step) {
      for (const name of step.drop) delete event[name];
    } else if ('coerce' in step) {
      const current = field(event, step.coerce.field);
      if (current === undefined || current === null) continue;
      const value = coerced(current, step.coerce.to);
      if (value === undefined) return false;
      event[step.coerce.field] = value;
    } else {
      const current = field(event, step.match.field);
      if (typeof current !== 'string' && typeof current !== 'number' && typeof current !== 'boolean') return false;
      if (!new RegExp(step.match.pattern, 'u').test(String(current))) return false;
    }
  }
  return true;
}
