// Tracing hooks on node:diagnostics_channel (as platformatic/kafka does): publishing costs a
// boolean check when nobody subscribes, and an OpenTelemetry or logging subscriber can attach
// from outside without sluice depending on it.
import { channel } from 'node:diagnostics_channel';

export interface CommitEvent {
  lane: string;
  records: number;
  outputs: number;
  nextOffset: string;
  durationMs: number;
}

export interface RestoreEvent {
  lane: string;
  mode: 'replay' | 'full';
  records: number;
  durationMs: number;
}

export interface LaneErrorEvent {
  lane: string;
  phase: string;
  error: unknown;
}

const channels = {
  /** a lane committed a batch (Kafka transaction and local state) */
  commit: channel('sluice:commit'),
  /** a lane brought its local state up to date from the changelog */
  restore: channel('sluice:restore'),
  /** a lane failed to open or to process a batch; the batch was aborted */
  laneError: channel('sluice:lane-error'),
} as const;

export function publishCommit(event: CommitEvent): void {
  if (channels.commit.hasSubscribers) channels.commit.publish(event);
}

export function publishRestore(event: RestoreEvent): void {
  if (channels.restore.hasSubscribers) channels.restore.publish(event);
}

export function publishLaneError(event: LaneErrorEvent): void {
  if (channels.laneError.hasSubscribers) channels.laneError.publish(event);
}
