// The lanes open in this pipeline instance (a worker thread's group member), for what reads their
// committed state from outside the data path: interactive queries (GET /aggregates) and the
// ownership announcements that route them. A lane registers once its store is restored and
// removes itself first thing when it closes, so a reader never sees a store that is closing.
import type { RetainedFinal, WindowState } from '../model/window-state.ts';

/** What a query may read of a lane's LMDB store: committed state only, never a batch in flight. */
export interface LaneStateReader {
  /** open windows (a merge lane: partials) whose store key starts with `prefix` */
  windowsWithPrefix(prefix: string): Iterable<[string, WindowState]>;
  /**
   * closed windows' finals kept for http.queryRetention whose window key starts with `prefix`,
   * expired ones included until the lane's next expiry drops them: filter by `until`
   */
  retainedWithPrefix(prefix: string): Iterable<[string, RetainedFinal]>;
  /** the next input offset to process and the stream time the committed state stands for */
  meta(): { inputOffset: string | undefined; streamTime: number };
}

export interface OpenLane {
  kind: 'source' | 'merge';
  /** the input topic (source lanes) or the window's partials topic (merge lanes) */
  topic: string;
  partition: number;
  state: LaneStateReader;
  /** records on the broker beyond the last batch fetched; undefined before the first batch */
  lag(): number | undefined;
}

type Listener = (lane: OpenLane) => void;

export class OpenLanes {
  private readonly lanes = new Map<string, OpenLane>();
  private readonly listeners = new Set<Listener>();

  /** Registers an opened lane and tells the listeners; returns its removal. */
  add(lane: OpenLane): () => void {
    const id = `${lane.topic}/${lane.partition}`;
    this.lanes.set(id, lane);
    for (const listener of this.listeners) listener(lane);
    // The partition's next lane here registers after this one closed; an older lane's removal
    // must never take the newer one down.
    return () => {
      if (this.lanes.get(id) === lane) this.lanes.delete(id);
    };
  }

  get(topic: string, partition: number): OpenLane | undefined {
    return this.lanes.get(`${topic}/${partition}`);
  }

  all(): OpenLane[] {
    return [...this.lanes.values()];
  }

  /** Calls `listener` for every lane that opens from now on. */
  onOpened(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
