// Replaces kafkajs internals (see aborted-filter.ts, group-messages.ts, record-encoding.ts and
// coordinator-cache.ts).
// kafkajs modules capture their helpers when they load, so the replacement must be in the require
// cache before kafkajs loads: loader.ts runs this first, and it throws if it is too late.
import { createRequire } from 'node:module';
import { filterAbortedMessages } from './aborted-filter.ts';
import { cachedFindCoordinator } from './coordinator-cache.ts';
import { groupMessagesPerPartition } from './group-messages.ts';
import { recordBatchEncoder, sizedRecord } from './record-encoding.ts';
import type { CodecLookup } from './record-encoding.ts';

const require = createRequire(import.meta.url);
/** the patched record batch module, so that installing twice does not wrap it twice */
const PATCHED_BATCHES = new WeakSet<object>();

function replaceModule(modulePath: string, usedBy: string, implementation: unknown): void {
  const target = require.resolve(modulePath);
  const user = require.resolve(usedBy);
  if (require.cache[user] !== undefined && require(target) !== implementation) {
    throw new Error(`kafkajs was loaded before sluice could replace ${modulePath}; import kafkajs only through src/clients/kafkajs/loader.ts`);
  }
  require(target);
  const entry = require.cache[target];
  if (entry === undefined) throw new Error(`${modulePath} is not in the require cache`);
  entry.exports = implementation;
}

export function installKafkajsPatches(): void {
  // A prototype method is looked up at each call, so this one works whenever kafkajs loaded.
  const cluster = (require('kafkajs/src/cluster/index.js') as { prototype: { findGroupCoordinator: Parameters<typeof cachedFindCoordinator>[0] } }).prototype;
  cluster.findGroupCoordinator = cachedFindCoordinator(cluster.findGroupCoordinator);
  replaceModule('kafkajs/src/consumer/filterAbortedMessages.js', 'kafkajs/src/consumer/batch.js', filterAbortedMessages);
  replaceModule('kafkajs/src/producer/groupMessagesPerPartition.js', 'kafkajs/src/producer/sendMessages.js', groupMessagesPerPartition);
  const produce = 'kafkajs/src/protocol/requests/produce/v3/request.js';
  replaceModule('kafkajs/src/protocol/recordBatch/record/v0/index.js', produce, sizedRecord);
  const batch = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: Parameters<typeof recordBatchEncoder>[0]; MAGIC_BYTE: number };
  if (!PATCHED_BATCHES.has(batch)) {
    const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
    const { lookupCodec } = require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodec: CodecLookup };
    const patched = { ...batch, RecordBatch: recordBatchEncoder(batch.RecordBatch, crc32C, lookupCodec) };
    PATCHED_BATCHES.add(patched);
    replaceModule('kafkajs/src/protocol/recordBatch/v0/index.js', produce, patched);
  }
}
