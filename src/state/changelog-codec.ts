// The changelog's record format. Values are absolute (the new state of a key, or a tombstone),
// never deltas, so replaying a record twice is harmless: restore can start from any earlier offset.
//   d|<id>          -> "<t0>"                    dedupe: first sighting of an event id
//   w|<window key>  -> WindowState JSON           a window accumulator: {"w","g","s","a"}, with its close time
//                                                "c", a session's end "e", and "f" on a session an idle close finalized
//   x|<source>      -> "<watermark>"              a merge lane's watermark of one source partition
//   c|<window>      -> "<start>"                  the latest start of that window definition closed
//   r|<window key>  -> {"s","u","i"} JSON         a closed window's final kept for queries (http.queryRetention):
//                                                its state "s" (w, g, s, a, e), "u" kept until (epoch ms, wall
//                                                clock), "i":1 when an idle close wrote it; a tombstone once expired
//   m               -> {"inputOffset","streamTime","history"} JSON, the last record of every transaction
// A null value is a tombstone, which lets compaction keep the topic as small as the state.
import type { WindowState } from '../model/window-state.ts';
import type { StoreWriter } from './store-writer.ts';
import type { StoredRetained } from './retained-store.ts';

export interface ChangelogRecord {
  key: string;
  value: string | null;
}

export interface ChangelogMeta {
  inputOffset: string;
  streamTime: number;
  /** the changelog history's id (partition-store.ts, StoreMeta.history); absent before 0.2 */
  history?: string | undefined;
}

export const META_KEY = 'm';

export function changelogRecordsFor(
  dedupe: ReadonlyMap<string, number | null>,
  windows: ReadonlyMap<string, WindowState | null>,
  watermarks: ReadonlyMap<number, number> = new Map(),
  closed: ReadonlyMap<string, number> = new Map(),
  retained: ReadonlyMap<string, StoredRetained | null> = new Map(),
): ChangelogRecord[] {
  const out: ChangelogRecord[] = [];
  for (const [source, wm] of watermarks) out.push({ key: `x|${source}`, value: String(wm) });
  for (const [window, start] of closed) out.push({ key: `c|${window}`, value: String(start) });
  for (const [id, t0] of dedupe) out.push({ key: `d|${id}`, value: t0 === null ? null : String(t0) });
  for (const [key, state] of windows) out.push({ key: `w|${key}`, value: state === null ? null : JSON.stringify(state) });
  for (const [key, final] of retained) out.push({ key: `r|${key}`, value: final === null ? null : JSON.stringify(final) });
  return out;
}

export function metaRecord(meta: ChangelogMeta): ChangelogRecord {
  // JSON has no -Infinity: a partition that saw no event yet writes null.
  return { key: META_KEY, value: JSON.stringify({ inputOffset: meta.inputOffset, streamTime: Number.isFinite(meta.streamTime) ? meta.streamTime : null, history: meta.history }) };
}

export function parseMeta(value: string): ChangelogMeta {
  const raw = JSON.parse(value) as { inputOffset: string; streamTime: number | null; history?: string };
  return { inputOffset: raw.inputOffset, streamTime: raw.streamTime ?? Number.NEGATIVE_INFINITY, history: raw.history };
}

/** Applies one changelog record to the store; returns the meta when the record was one. */
export function applyChangelogRecord(w: StoreWriter, key: string, value: string | null): ChangelogMeta | undefined {
  if (key === META_KEY) {
    if (value === null) return undefined;
    const meta = parseMeta(value);
    w.setMeta({ streamTime: meta.streamTime, inputOffset: meta.inputOffset, history: meta.history });
    return meta;
  }
  const body = key.slice(2);
  if (key.startsWith('d|')) {
    if (value === null) w.deleteDedupe(body);
    else w.putDedupe(body, Number(value));
  } else if (key.startsWith('x|')) {
    if (value !== null) w.setWatermark(Number(body), Number(value));
  } else if (key.startsWith('c|')) {
    if (value !== null) w.setClosedThrough(body, Number(value));
  } else if (key.startsWith('w|')) {
    if (value === null) w.deleteWindow(body);
    else w.putWindow(body, JSON.parse(value) as WindowState);
  } else if (key.startsWith('r|')) {
    if (value === null) w.deleteRetained(body);
    else w.putRetained(body, JSON.parse(value) as StoredRetained);
  } else {
    throw new Error(`unknown changelog key ${JSON.stringify(key)}`);
  }
  return undefined;
}
