// The oracle's validation step: an independent reading of the decode rules (docs/output.md)
// that never imports the engine's decoder.
import type { OracleConfig, OracleReason, OracleRecord } from './oracle.ts';
import { normalizeEvent } from './oracle-normalize.ts';

export type Decoded = { ok: true; event: Record<string, unknown>; time: number; id: string | undefined } | { ok: false; reason: OracleReason };

// Own properties only: "constructor" or "toString" must not be found on Object.prototype.
export function field(event: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(event, name) ? event[name] : undefined;
}

function absent(v: unknown): boolean {
  return v === undefined || v === null;
}

export function decode(record: OracleRecord, cfg: OracleConfig): Decoded {
  const value = record.value;
  if (value !== null && Buffer.byteLength(value, 'utf8') > cfg.maxRecordBytes) return { ok: false, reason: 'oversized' };
  if (value === null || value === '') return { ok: false, reason: 'invalid-json' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ok: false, reason: 'invalid-json' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'invalid-json' };
  const event = parsed as Record<string, unknown>;
  // Normalization runs between parsing and validation: a failed step is `invalid`.
  if (cfg.normalize !== undefined && !normalizeEvent(event, cfg.normalize)) return { ok: false, reason: 'invalid' };

  let id: string | undefined;
  if (cfg.idField !== undefined) {
    const raw = field(event, cfg.idField);
    if (absent(raw)) return { ok: false, reason: 'missing-field' };
    if (typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw))) id = String(raw);
    else return { ok: false, reason: 'invalid-id' };
  }

  let time = record.timestampMs;
  if (cfg.eventTimeField !== undefined) {
    const raw = field(event, cfg.eventTimeField);
    if (absent(raw)) return { ok: false, reason: 'missing-field' };
    const parsedTime = parseEventTime(raw);
    if (parsedTime === undefined) return { ok: false, reason: 'invalid-event-time' };
    time = parsedTime;
  }

  // Field by field in groupBy order: missing or null, then an object or array.
  for (const w of cfg.windows) {
    for (const f of w.groupBy) {
      const raw = field(event, f);
      if (absent(raw)) return { ok: false, reason: 'missing-field' };
      if (typeof raw === 'object') return { ok: false, reason: 'invalid-group' };
    }
  }
  // Each aggregate field once, where it is first used; numeric if any aggregate reads it as a number.
  const aggregateFields = new Map<string, boolean>();
  const use = (name: string | undefined, numeric: boolean): void => {
    if (name === undefined) throw new Error('oracle: an aggregate has no field');
    aggregateFields.set(name, (aggregateFields.get(name) ?? false) || numeric);
  };
  for (const w of cfg.windows) {
    for (const a of w.aggregates) {
      if (a.fn === 'count') continue;
      if (a.fn === 'topK') {
        use(a.field, false);
        if (a.by!.fn !== 'count') use(a.by!.field, true);
      } else {
        use(a.field, !['first', 'last', 'countDistinct'].includes(a.fn));
      }
    }
  }
  for (const [name, numeric] of aggregateFields) {
    const raw = field(event, name);
    if (absent(raw)) return { ok: false, reason: 'missing-field' };
    if (numeric && (typeof raw !== 'number' || !Number.isFinite(raw))) return { ok: false, reason: 'not-a-number' };
    if (!numeric && typeof raw === 'object') return { ok: false, reason: 'not-a-scalar' };
  }

  const keyValue = field(event, cfg.keyField);
  if (record.key === null || absent(keyValue) || record.key !== String(keyValue)) return { ok: false, reason: 'key-mismatch' };
  return { ok: true, event, time, id };
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch ms from a finite number, a zoned ISO-8601 date-time, or a UTC date; undefined otherwise.
 * Parsed by hand with calendar checks rather than Date.parse, which would roll 2024-02-30 over.
 * Fractions finer than a millisecond are truncated.
 */
export function parseEventTime(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const dateOnly = DATE_ONLY.exec(raw);
  if (dateOnly) {
    const [y, mo, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    return validDate(y, mo, d) ? utcMs(y, mo, d, 0, 0, 0, 0) : undefined;
  }
  const m = DATE_TIME.exec(raw);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  const s = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return utcMs(y, mo, d, h, mi, s, ms) - offsetMin * 60_000;
}

// Date.UTC maps years 0–99 to 19xx; setUTCFullYear takes the year as written.
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  return d <= days;
}
