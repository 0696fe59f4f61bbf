// The one place this project imports kafkajs at runtime, so that its fixes are in place before
// kafkajs loads (see patches.ts). Everything else imports kafkajs values from here; type-only
// imports of 'kafkajs' are fine anywhere.
import { installKafkajsPatches } from './patches.ts';

installKafkajsPatches();

const kafkajs = (await import('kafkajs')).default;

export const { Kafka, logLevel, AssignerProtocol, ConfigResourceTypes } = kafkajs;
