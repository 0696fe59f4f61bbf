// What /healthz and /readyz answer. Ready means a rolling restart may move on to the next pod: this
// member has joined the group, and every partition it owns has restored its state and is not far
// behind. Worker threads are members each; the process is ready when all of them are.

/** One assigned topic-partition as its group member sees it. */
export interface PartitionProgress {
  /** `topic/partition` */
  partition: string;
  /** its lane is open: fenced the previous owner and restored its state */
  open: boolean;
  /** records beyond the last batch fetched; undefined before the first batch */
  lag: number | undefined;
}

/** One group member (a pipeline, or a worker thread's). */
export interface MemberProgress {
  /** false until the first assignment of the group */
  joined: boolean;
  partitions: PartitionProgress[];
}

export type PartitionState = 'restoring' | 'lagging' | 'ready';

export interface Readiness {
  ready: boolean;
  /** why not, when not ready */
  reasons: string[];
  partitions: { partition: string; state: PartitionState; lag: number | null }[];
}

export function readiness(members: readonly MemberProgress[], maxLag: number): Readiness {
  const reasons: string[] = [];
  const waiting = members.filter((m) => !m.joined).length;
  if (members.length === 0 || waiting > 0) reasons.push(members.length > 1 ? `${waiting} of ${members.length} workers not yet assigned partitions` : 'not yet assigned partitions');
  const partitions = members.flatMap((m) =>
    m.partitions.map((p) => {
      const state: PartitionState = !p.open ? 'restoring' : (p.lag ?? 0) > maxLag ? 'lagging' : 'ready';
      if (state === 'restoring') reasons.push(`${p.partition} is restoring its state`);
      else if (state === 'lagging') reasons.push(`${p.partition} is ${p.lag} records behind (http.readyMaxLag ${maxLag})`);
      return { partition: p.partition, state, lag: p.lag ?? null };
    }),
  );
  partitions.sort((a, b) => a.partition.localeCompare(b.partition, 'en', { numeric: true }));
  return { ready: reasons.length === 0, reasons, partitions };
}
