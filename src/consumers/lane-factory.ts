// Builds the lane for a topic-partition this process was assigned: a source lane for the input
// topic, or the merge lane of a cross-partition window for its partials topic. Each lane gets
// its own store file, transactional id and changelog partition.
import type { SluiceConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { laneTablePath, storePath, transactionalId } from '../model/naming.ts';
import { metricsObserver } from '../observability/lane-observer.ts';
import type { PipelineMetrics } from '../observability/metrics.ts';
import { BatchProcessor } from '../processors/batch-processor.ts';
import { MergeProcessor } from '../processors/merge-processor.ts';
import type { PipelineSpec, WindowSpec } from '../processors/types.ts';
import type { TableRows } from '../model/store-ports.ts';
import type { InputFormat, OutputValueEncoder } from '../model/value-format.ts';
import type { GroupMembership, StreamClient } from '../clients/port.ts';
import { Lane } from './lane.ts';
import { LaneTables } from './lane-tables.ts';
import type { CoPartitionedTable } from './lane-tables.ts';
import type { LaneProcessor } from './lane.ts';
import type { OpenLanes } from './open-lanes.ts';

export interface CrossWindowTopics {
  window: WindowSpec;
  partials: string;
  changelog: string;
}

export interface LaneFactoryContext {
  config: SluiceConfig;
  spec: PipelineSpec;
  client: StreamClient;
  metrics: PipelineMetrics;
  log: Logger;
  storeDir: string;
  changelog: string;
  /** input partition count, which every internal topic has too */
  partitions: number;
  /** the output topic's partition count: results go to a lane's own partition modulo it (output.partitioning: input) */
  outputPartitions?: number | undefined;
  tombstoneRetentionMs: number;
  /** partials topic -> its cross-partition window */
  cross: ReadonlyMap<string, CrossWindowTopics>;
  /** the worker's whole reference tables (file and global tables) by name */
  tables?: ReadonlyMap<string, TableRows>;
  /** tables co-partitioned with the input: each source lane keeps its own partition of them */
  coPartitioned?: readonly CoPartitionedTable[];
  /** how input values become events and results become output values; JSON for what is left out */
  formats?: { input?: InputFormat; output?: OutputValueEncoder };
  /** where open lanes show themselves to interactive queries and ownership announcements */
  openLanes?: OpenLanes;
}

/** feeds sluice_table_records_total and sluice_table_skipped_records_total */
export function countTableRecords(metrics: PipelineMetrics): (table: string, records: number, skipped: number) => void {
  return (table, records, skipped) => {
    metrics.tableRecords.inc({ table }, records);
    if (skipped > 0) metrics.tableSkipped.inc({ table }, skipped);
  };
}

/**
 * output.partitioning: input. A lane's results go to the output partition numbered like its own
 * (a merge lane's is its partials partition, so a cross-partition group's results stay together
 * too), wrapped when the output topic has fewer partitions.
 */
export function outputPartitionOf(lanePartition: number, outputPartitions: number | undefined): number {
  if (outputPartitions === undefined || outputPartitions < 1) throw new Error('output.partitioning: input needs the output topic\'s partition count');
  return lanePartition % outputPartitions;
}

export function laneFactory(ctx: LaneFactoryContext): (topic: string, partition: number, group: GroupMembership) => Lane {
  const { config, spec, client, metrics, log } = ctx;
  const appId = config.application.id;
  const partialsByWindow = new Map([...ctx.cross.values()].map((c) => [c.window.name, c.partials]));

  // Outputs, dead letters and changelog can outweigh the input; a produce request to one
  // partition must stay under the broker's default message.max.bytes (1 MiB) all the same.
  const produceBytes = Math.min(config.batching.maxBytes * 2, 900 * 1024);
  return (topic, partition, group) => {
    const merge = ctx.cross.get(topic);
    const outputPartition = config.output.partitioning === 'input' ? outputPartitionOf(partition, ctx.outputPartitions) : undefined;
    const changelog = merge?.changelog ?? ctx.changelog;
    let processor: LaneProcessor;
    let tables: LaneTables | undefined;
    if (merge === undefined) {
      if (ctx.coPartitioned !== undefined && ctx.coPartitioned.length > 0) {
        tables = new LaneTables(ctx.coPartitioned, { client, log, partition, path: (table) => laneTablePath(ctx.storeDir, partition, table), lockWaitMs: 10_000, onApplied: countTableRecords(metrics) });
      }
      const rows = new Map([...(ctx.tables ?? []), ...(tables?.rows ?? [])]);
      processor = new BatchProcessor(spec, { input: topic, output: config.output.topic, deadLetter: config.deadLetter.topic, partials: partialsByWindow, partialsPartitions: ctx.partitions, outputPartition }, partition, { tables: rows, formats: ctx.formats });
    } else {
      const mp = new MergeProcessor({ window: merge.window, outputTopic: config.output.topic, partialsTopic: topic, partition, sources: ctx.partitions, encodeOutput: ctx.formats?.output, outputPartition, queryRetentionMs: spec.queryRetentionMs });
      const provider = () => [...mp.sources].map(([source, v]) => ({ window: merge.window.name, source, watermark: v.watermark, movedAtMs: v.movedAtMs }));
      processor = {
        process: (records, store, streamTime, deadline, traced) => mp.process(records, store, streamTime, deadline, traced),
        onOpen: (store) => {
          mp.onOpen(store);
          metrics.watermarkProviders.add(provider);
        },
        onClose: () => metrics.watermarkProviders.delete(provider),
      };
    }
    const kind = merge === undefined ? 'source' : 'merge';
    return new Lane({
      kind,
      partition,
      spec,
      processor,
      topics: { input: topic, changelog },
      guarantee: config.application.guarantee,
      storePath: storePath(ctx.storeDir, partition, merge?.window.name),
      // Long enough for a lane that lost the partition to finish its batch; an open that still
      // finds the store locked fails with SLUICE_STATE_LOCKED and is retried.
      lockWaitMs: 10_000,
      batching: config.batching,
      tombstoneRetentionMs: ctx.tombstoneRetentionMs,
      sink: client.laneSink({ guarantee: config.application.guarantee, transactionalId: transactionalId(appId, topic, partition), groupId: appId, maxBytes: produceBytes, partition, group }),
      restorer: client.changelogReader,
      changelogEnd: () => client.highWatermark(changelog, partition),
      committedOffset: () => client.committedOffset(appId, topic, partition),
      // the `partition` label: the partition number for source lanes
      observer: metricsObserver(metrics, merge === undefined ? String(partition) : `${merge.window.name}-merge/${partition}`, kind),
      tables,
      openLanes: ctx.openLanes,
      log,
    });
  };
}
