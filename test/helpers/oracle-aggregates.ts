// The oracle's first, last, countDistinct, quantiles and topK: each computed from the window's
// whole list of accepted events, the slow obvious way, from docs/output.md and docs/semantics.md
// rather than from src/. countDistinct and quantiles are exact here; sketch-bounds.ts says how far
// sluice's estimates may be from them.
import { field } from './oracle-decode.ts';
import type { OracleAggregate, OracleRankFn } from './oracle.ts';

type Scalar = string | number | boolean;
type TimedEvent = { time: number; event: Record<string, unknown> };

/** docs/semantics.md: false < true < numbers < strings, each kind in its natural order. */
export function scalarOrder(a: Scalar, b: Scalar): number {
  const kind = (v: Scalar): number => ['boolean', 'number', 'string'].indexOf(typeof v);
  if (kind(a) !== kind(b)) return kind(a) - kind(b);
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** 0.5 -> "p50", 0.999 -> "p99.9". */
export function quantileName(q: number): string {
  return `p${Number((q * 100).toFixed(9))}`;
}

export function eventAggregate(a: OracleAggregate, events: readonly TimedEvent[]): unknown {
  const value = (e: TimedEvent): unknown => field(e.event, a.field!);
  switch (a.fn) {
    case 'first':
    case 'last': {
      if (events.length === 0) return null;
      const sorted = [...events].sort((x, y) => x.time - y.time || scalarOrder(value(x) as Scalar, value(y) as Scalar));
      return value(a.fn === 'first' ? sorted[0]! : sorted[sorted.length - 1]!);
    }
    case 'countDistinct':
      // 1 and "1" are two values, as two groups would be.
      return new Set(events.map((e) => JSON.stringify(value(e)))).size;
    case 'quantiles': {
      const sorted = events.map((e) => value(e) as number).sort((x, y) => x - y);
      const out: Record<string, number | null> = {};
      for (const q of a.quantiles!) out[quantileName(q)] = sorted.length === 0 ? null : sorted[Math.floor(q * (sorted.length - 1))]!;
      return out;
    }
    case 'topK':
      return topK(a, events);
    default:
      throw new Error(`oracle: ${a.fn} is not an event aggregate`);
  }
}

function rank(fn: OracleRankFn, values: number[]): number {
  if (fn === 'count') return values.length;
  const sum = values.reduce((x, y) => x + y, 0);
  if (fn === 'sum') return sum;
  if (fn === 'min') return Math.min(...values);
  if (fn === 'max') return Math.max(...values);
  return sum / values.length;
}

function topK(a: OracleAggregate, events: readonly TimedEvent[]): Array<{ member: Scalar; value: number }> {
  const members = new Map<string, { member: Scalar; values: number[] }>();
  for (const e of events) {
    const member = field(e.event, a.field!) as Scalar;
    const key = JSON.stringify(member);
    const entry = members.get(key) ?? { member, values: [] };
    entry.values.push(a.by!.fn === 'count' ? 0 : (field(e.event, a.by!.field!) as number));
    members.set(key, entry);
  }
  return [...members.values()]
    .map(({ member, values }) => ({ member, value: rank(a.by!.fn, values) }))
    .sort((x, y) => y.value - x.value || scalarOrder(x.member, y.member))
    .slice(0, a.k);
}
