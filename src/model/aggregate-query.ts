// Interactive queries over window state (GET /aggregates): what is asked, and what the instance
// holding the state answers. Shared by the HTTP layer, which parses and routes, and the lanes'
// side, which reads LMDB (src/consumers/interactive-query.ts).
import type { WindowResult } from './value-format.ts';

export interface AggregateQuery {
  /** a window definition's name */
  window: string;
  /**
   * per groupBy field, in groupBy order, the values the caller may mean: a query string holds
   * text, and `42` may name the string "42" or the number 42, which are different groups
   */
  group: unknown[][];
  /** window starts from, inclusive (epoch ms) */
  from?: number | undefined;
  /** window starts up to, inclusive (epoch ms) */
  to?: number | undefined;
}

/** How current one partition's answer is: its committed state, not a batch in flight. */
export interface PartitionFreshness {
  topic: string;
  partition: number;
  /** the next input offset: the committed state holds every record before it */
  committedOffset: string | null;
  /** records on the broker beyond the last batch fetched; null before the first batch */
  lag: number | null;
  /** the partition's stream time (a merge lane: the lowest of its sources' watermarks); null before any event */
  streamTime: number | null;
}

/** One instance's (or worker's) answer from the lanes it has open. */
export interface LocalAnswer {
  /** `topic/partition` of every lane open here */
  owned: string[];
  /** open windows (`final: false`) and retained finals (`final: true`), as output records carry them */
  results: WindowResult[];
  /** of every partition that contributed a result, and of the partition the group maps to when it is open here */
  freshness: PartitionFreshness[];
  /** the partition holding the group's state; undefined for a window this pipeline lacks */
  location: GroupLocation | undefined;
}

/** Where a window and group's state lives: the partition its events (or partials) go to. */
export interface GroupLocation {
  topic: string;
  partition: number;
}
