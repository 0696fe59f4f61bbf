// The default value decoder: a record value is UTF-8 JSON text holding one object.
import type { DecodedValue } from '../model/value-format.ts';

export function parseJsonValue(value: Buffer | null): DecodedValue {
  if (value === null || value.length === 0) return { ok: false, reason: 'invalid-json', detail: 'value is empty' };
  return jsonObject(value.toString('utf8'));
}

/** JSON text that must hold an object; `what` names it in the failure detail. */
export function jsonObject(text: string, what = 'value'): DecodedValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid-json', detail: `${what} is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'invalid-json', detail: `${what} is JSON ${parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : typeof parsed}, not an object` };
  }
  return { ok: true, event: parsed as Record<string, unknown> };
}
