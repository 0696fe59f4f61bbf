/**
 * How a value becomes a reference-table key, the same on both sides of a lookup: strings as they
 * are, finite numbers and booleans as String() writes them, anything else is no key. So the event
 * field 12 finds the row keyed "12".
 */
export function tableKey(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return undefined;
}
