// The one place this project imports kafkajs at runtime, so that its fixes are in place before
// kafkajs loads (see patches.ts) and its codec table has every codec (see codecs.ts) before any
// consumer or producer exists. Everything else imports kafkajs values from here; type-only
// imports of 'kafkajs' are fine anywhere.
import { registerKafkajsCodecs } from './codecs.ts';
import { installKafkajsPatches } from './patches.ts';

installKafkajsPatches();

const kafkajs = (await import('kafkajs')).default;

registerKafkajsCodecs(kafkajs.CompressionCodecs);

export const { Kafka, logLevel, AssignerProtocol, ConfigResourceTypes, CompressionTypes, CompressionCodecs } = kafkajs;
