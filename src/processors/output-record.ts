import { AGGREGATES } from './aggregates.ts';
import type { WindowSpec } from './types.ts';

export type OutputRecord = { key: string; value: string };

/** `<window>|<group values joined by "|">|<start>`, each group value via String(). */
export function windowKey(windowName: string, groupValues: readonly unknown[], start: number): string {
  let key = windowName + '|';
  for (let i = 0; i < groupValues.length; i++) {
    if (i > 0) key += '|';
    key += String(groupValues[i]);
  }
  return key + '|' + start;
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

/**
 * The downstream contract. The JSON is assembled by hand so property order is
 * exactly window, group (groupBy order), start, end, final, values (aggregate
 * order) — an object literal would reorder integer-like names.
 */
export function formatOutput(
  spec: WindowSpec,
  groupValues: readonly unknown[],
  start: number,
  acc: readonly unknown[],
  final: boolean,
): OutputRecord {
  const t = templateFor(spec);
  let value = t.head;
  for (let i = 0; i < t.groupKeys.length; i++) value += t.groupKeys[i]! + json(groupValues[i]);
  value += '},"start":' + json(start) + ',"end":' + json(start + spec.sizeMs) + ',"final":' + final + ',"values":{';
  const aggs = spec.aggregates;
  for (let i = 0; i < aggs.length; i++) value += t.valueKeys[i]! + json(AGGREGATES[aggs[i]!.fn].result(acc[i]));
  value += '}}';
  return { key: windowKey(spec.name, groupValues, start), value };
}
