// Gauges of the lanes' local state, read from LMDB when metrics are scraped rather than kept up to
// date on the data path: an open lane registers its store's view under its `partition` label and
// removes it when it closes, so a partition that moved away stops being reported at once.
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** One open lane's state, as PartitionStore.stats() reports it. */
export interface LaneStateView {
  stats(): { stores: readonly { store: string; entries: number; bytes: number }[]; fileBytes: number };
  /** open windows for a source lane; undefined for a merge lane, whose entries are partials */
  openWindows(): number | undefined;
}

export function stateMetrics(registry: Registry) {
  const views = new Map<string, LaneStateView>();
  // A stats() read is a few B-tree headers, so each gauge reads its own.
  const stats = () => [...views].map(([lane, v]) => [lane, v.stats()] as const);
  return {
    stateViews: views,
    stateEntries: new Gauge({
      name: 'sluice_state_entries',
      help: 'Entries in the local LMDB state of each open lane, by store (dedupe, windows, window-close-index, dedupe-forget-index, meta, retained, retained-expiry-index)',
      labelNames: ['partition', 'store'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [partition, s] of stats()) for (const { store, entries } of s.stores) this.set({ partition, store }, entries);
      },
    }),
    stateBytes: new Gauge({
      name: 'sluice_state_bytes',
      help: 'Bytes of LMDB pages each store of an open lane holds (its B-tree and overflow pages)',
      labelNames: ['partition', 'store'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [partition, s] of stats()) for (const { store, bytes } of s.stores) this.set({ partition, store }, bytes);
      },
    }),
    stateFileBytes: new Gauge({
      name: 'sluice_state_file_bytes',
      help: "Bytes in use in an open lane's LMDB file (its high-water mark, free pages LMDB reuses included): what the state volume must hold",
      labelNames: ['partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [partition, s] of stats()) this.set({ partition }, s.fileBytes);
      },
    }),
    openWindows: new Gauge({
      name: 'sluice_open_windows',
      help: 'Windows open in a source lane: one per window, group and start (idle-closed sessions waiting for stream time included)',
      labelNames: ['partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [partition, view] of views) {
          const open = view.openWindows();
          if (open !== undefined) this.set({ partition }, open);
        }
      },
    }),
  };
}
