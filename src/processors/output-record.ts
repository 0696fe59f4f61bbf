import type { OutputValueEncoder, WindowResult } from '../model/value-format.ts';
import { aggregateResult } from './aggregates.ts';
import type { WindowSpec } from './types.ts';

export type OutputRecord = { key: string; value: string | Buffer };
type JsonOutputRecord = { key: string; value: string };

// The key of one window and group is the JSON array `[window, ...group values, start]`, e.g.
// `["per_player_1m","p1",1700000040000]`: JSON keeps 1, "1" and true apart and quotes any
// separator, so two groups never share an output key, an accumulator (LMDB, changelog `w|`) or a
// partial. It is persisted: a change needs a migration (see legacy-keys.ts). Built by hand, not
// with JSON.stringify([...]), to spare an array per key; the result is byte for byte the same.

/** Whether JSON.stringify would escape something in `s` (surrogates: only lone ones; any is rare). */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

function appendJson(key: string, v: unknown): string {
  if (typeof v === 'string') return needsEscape(v) ? key + JSON.stringify(v) : key + '"' + v + '"';
  // Numbers, booleans, null (and objects in state from before `invalid-group`); never undefined.
  return key + (JSON.stringify(v) ?? 'null');
}

/** `[<window>,` per window name: a handful of names (config, old state), each built once. */
const namePrefixes = new Map<string, string>();

/** `[window,...group values,`: the part of the key every window start of one event shares. */
export function groupKeyPrefix(windowName: string, groupValues: readonly unknown[]): string {
  let key = namePrefixes.get(windowName);
  if (key === undefined) namePrefixes.set(windowName, (key = appendJson('[', windowName) + ','));
  for (let i = 0; i < groupValues.length; i++) key = appendJson(key, groupValues[i]) + ',';
  return key;
}

/** Whether a store key is a window key in this format, rather than a legacy one (legacy-keys.ts). */
export function isWindowKey(key: string): boolean {
  return key.charCodeAt(0) === 0x5b; // "["
}

/** The key from {@link groupKeyPrefix}; a start is a finite number, whose String() is its JSON. */
export function windowKeyAt(prefix: string, start: number): string {
  return prefix + start + ']';
}

/** `[window,...group values,start]` as JSON: the output record key and the window's state key. */
export function windowKey(windowName: string, groupValues: readonly unknown[], start: number): string {
  return windowKeyAt(groupKeyPrefix(windowName, groupValues), start);
}

type Template = {
  // Pre-serialized fragments: `{"window":"<name>","group":{` and each `"<field>":` / `"<agg>":`.
  head: string;
  groupKeys: string[];
  valueKeys: string[];
};

const templates = new WeakMap<WindowSpec, Template>();

function templateFor(spec: WindowSpec): Template {
  let t = templates.get(spec);
  if (t === undefined) {
    const groupKeys = spec.groupBy.map((f, i) => (i > 0 ? ',' : '') + JSON.stringify(f) + ':');
    const valueKeys = spec.aggregates.map((a, i) => (i > 0 ? ',' : '') + JSON.stringify(a.name) + ':');
    t = { head: '{"window":' + JSON.stringify(spec.name) + ',"group":{', groupKeys, valueKeys };
    templates.set(spec, t);
  }
  return t;
}

// JSON.stringify(undefined) is undefined; null keeps the document valid.
function json(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

/** What a result carries beyond its window's definition and start. */
export interface ResultBounds {
  /** the window's end: a session's own (WindowState.e); a fixed window's is start + size */
  end?: number | undefined;
  /** set on a final written because its partition was idle (closeIdleAfter); absent when stream time closed it */
  closedBy?: 'idle' | undefined;
}

/**
 * The downstream contract. The JSON is assembled by hand so property order is
 * exactly window, group (groupBy order), start, end, final, values (aggregate
 * order), then `closedBy` on an idle close only — an object literal would reorder integer-like names. `key`: the
 * window's key when the caller has it (a store key is one), which saves building it.
 */
export function formatOutput(spec: WindowSpec, groupValues: readonly unknown[], start: number, acc: readonly unknown[], final: boolean, key?: string): JsonOutputRecord;
/** `encode`: the output value encoding, when it is not JSON. */
export function formatOutput(spec: WindowSpec, groupValues: readonly unknown[], start: number, acc: readonly unknown[], final: boolean, key: string | undefined, encode: OutputValueEncoder | undefined, bounds?: ResultBounds): OutputRecord;
export function formatOutput(
  spec: WindowSpec,
  groupValues: readonly unknown[],
  start: number,
  acc: readonly unknown[],
  final: boolean,
  key?: string,
  encode?: OutputValueEncoder,
  bounds: ResultBounds = {},
): OutputRecord {
  if (encode !== undefined) return { key: key ?? windowKey(spec.name, groupValues, start), value: encode(windowResult(spec, groupValues, start, acc, final, bounds)) };
  const t = templateFor(spec);
  let value = t.head;
  for (let i = 0; i < t.groupKeys.length; i++) value += t.groupKeys[i]! + json(groupValues[i]);
  value += '},"start":' + json(start) + ',"end":' + json(bounds.end ?? start + spec.sizeMs) + ',"final":' + final + ',"values":{';
  const aggs = spec.aggregates;
  for (let i = 0; i < aggs.length; i++) value += t.valueKeys[i]! + json(aggregateResult(acc, aggs, i));
  value += bounds.closedBy === undefined ? '}}' : '},"closedBy":' + json(bounds.closedBy) + '}';
  return { key: key ?? windowKey(spec.name, groupValues, start), value };
}

/** The same result as an object, for an encoder other than the JSON above. */
export function windowResult(spec: WindowSpec, groupValues: readonly unknown[], start: number, acc: readonly unknown[], final: boolean, bounds: ResultBounds = {}): WindowResult {
  const group: Record<string, unknown> = {};
  for (let i = 0; i < spec.groupBy.length; i++) group[spec.groupBy[i]!] = groupValues[i];
  const values: Record<string, unknown> = {};
  for (let i = 0; i < spec.aggregates.length; i++) values[spec.aggregates[i]!.name] = aggregateResult(acc, spec.aggregates, i);
  const result: WindowResult = { window: spec.name, group, start, end: bounds.end ?? start + spec.sizeMs, final, values };
  if (bounds.closedBy !== undefined) result.closedBy = bounds.closedBy;
  return result;
}
