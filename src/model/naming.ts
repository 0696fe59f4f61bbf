// The names sluice gives what it owns: internal topics, transactional ids and store files. Each is
// part of the on-disk or on-broker contract, so changing one orphans existing state.
import { join } from 'node:path';

/** The source lanes' changelog: compacted, one partition per input partition. */
export function changelogTopic(applicationId: string): string {
  return `${applicationId}-changelog`;
}

/** A cross-partition window's partials topic, from its source lanes to its merge lanes. */
export function partialsTopic(applicationId: string, windowName: string): string {
  return `${applicationId}-${windowName}-partials`;
}

/** A cross-partition window's merge lanes' changelog. */
export function mergeChangelogTopic(applicationId: string, windowName: string): string {
  return `${applicationId}-${windowName}-merge-changelog`;
}

/** Which instance owns each partition, by advertised URL (model/ownership.ts): compacted, one partition. */
export function ownersTopic(applicationId: string): string {
  return `${applicationId}-owners`;
}

/** One per lane, so that its next owner's producer fences it. */
export function transactionalId(applicationId: string, topic: string, partition: number): string {
  return `${applicationId}-${topic}-${partition}`;
}

/** The folder holding one pipeline's stores. */
export function storeDir(stateDir: string, applicationId: string, inputTopic: string): string {
  return join(stateDir, applicationId, inputTopic);
}

/** A lane's store file: a source lane's by partition, a merge lane's by window and partition. */
export function storePath(dir: string, partition: number, mergeWindow?: string): string {
  return join(dir, mergeWindow === undefined ? `partition-${partition}.mdb` : `merge-${mergeWindow}-${partition}.mdb`);
}

/**
 * A worker's copy of a whole reference table (a file table, or a global topic table), by worker
 * thread: each worker holds its own, with one writer, as each lane holds its store.
 */
export function workerTablePath(dir: string, table: string, thread: number): string {
  return join(dir, 'tables', `${table}-worker-${thread}.mdb`);
}

/** A lane's partition of a co-partitioned reference table, beside the lane's store. */
export function laneTablePath(dir: string, partition: number, table: string): string {
  return join(dir, `partition-${partition}.table-${table}.mdb`);
}
