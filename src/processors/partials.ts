// The wire format between source lanes and merge lanes of a cross-partition window, on the
// internal topic `<application.id>-<window>-partials` (compacted):
//   partial:   key `<window key>|<source partition>` (the window key as in output-record.ts),
//              value {"w","g","s","a","src"} (the source's whole accumulator, so a redelivery
//              replaces, never adds), plus "t" (its input trace contexts, trace-links.ts) when
//              the source traces and kept some, sent to partition hash(group) so one merge lane
//              sees every source's partial of a group;
//   watermark: key `__wm|<source partition>`, value {"wm": <stream time>}, sent to every
//              partition at every commit, after that transaction's partials.
import type { OutRecord } from '../model/records.ts';
import type { WindowState } from '../model/window-state.ts';
import { windowKey } from './output-record.ts';
import type { PipelineSpec, WindowSpec } from './types.ts';

export const WATERMARK_KEY_PREFIX = '__wm|';

export interface PartialValue extends WindowState {
  src: number;
}

/** Cross-partition windows group by something other than the record key, so no lane owns a group. */
export function isCrossPartition(spec: Pick<PipelineSpec, 'keyField'>, window: Pick<WindowSpec, 'groupBy'>): boolean {
  return window.groupBy[0] !== spec.keyField;
}

/** FNV-1a: stable across processes and versions, unlike anything keyed on object identity. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A partial's record key, which is also the merge lane's store key for it. */
export function partialKey(windowName: string, groupValues: readonly unknown[], start: number, source: number): string {
  return windowKey(windowName, groupValues, start) + '|' + source;
}

/**
 * The merge partition of a group. Hashed over String() of the values joined by "|", as before
 * the window key became JSON: groups that share this text merely share a merge lane (each keeps
 * its own key there), and keeping it lets a merge lane that holds a group's partials from before
 * an upgrade go on receiving them.
 */
export function mergePartition(groupValues: readonly unknown[], partitions: number): number {
  let text = '';
  for (let i = 0; i < groupValues.length; i++) text += (i > 0 ? '|' : '') + String(groupValues[i]);
  return hash(text) % partitions;
}

/**
 * `traced`: tracing is on. Off, a window's contexts kept while it was on (its state keeps them)
 * are not sent: the partial is as without tracing.
 */
export function partialRecord(topic: string, partitions: number, state: WindowState, source: number, traced: boolean): OutRecord {
  const value: PartialValue = { w: state.w, g: state.g, s: state.s, a: state.a, src: source };
  if (traced && state.t !== undefined) value.t = state.t;
  return { topic, partition: mergePartition(state.g, partitions), key: partialKey(state.w, state.g, state.s, source), value: JSON.stringify(value) };
}

export function watermarkRecords(topic: string, partitions: number, source: number, watermark: number): OutRecord[] {
  const value = JSON.stringify({ wm: watermark });
  const out: OutRecord[] = [];
  for (let p = 0; p < partitions; p++) out.push({ topic, partition: p, key: `${WATERMARK_KEY_PREFIX}${source}`, value });
  return out;
}
