// Replaces two kafkajs internals (see aborted-filter.ts and group-messages.ts). kafkajs modules
// capture their helpers when they load, so the replacement must be in the require cache before
// kafkajs loads: src/kafka/client.ts runs this first, and it throws if it is too late.
import { createRequire } from 'node:module';
import { filterAbortedMessages } from './aborted-filter.ts';
import { groupMessagesPerPartition } from './group-messages.ts';

const require = createRequire(import.meta.url);

function replaceModule(modulePath: string, usedBy: string, implementation: unknown): void {
  const target = require.resolve(modulePath);
  const user = require.resolve(usedBy);
  if (require.cache[user] !== undefined && require(target) !== implementation) {
    throw new Error(`kafkajs was loaded before sluice could replace ${modulePath}; import kafkajs only through src/kafka/client.ts`);
  }
  require(target);
  const entry = require.cache[target];
  if (entry === undefined) throw new Error(`${modulePath} is not in the require cache`);
  entry.exports = implementation;
}

export function installKafkajsPatches(): void {
  replaceModule('kafkajs/src/consumer/filterAbortedMessages.js', 'kafkajs/src/consumer/batch.js', filterAbortedMessages);
  replaceModule('kafkajs/src/producer/groupMessagesPerPartition.js', 'kafkajs/src/producer/sendMessages.js', groupMessagesPerPartition);
}
