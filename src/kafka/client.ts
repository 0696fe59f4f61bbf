// The one place this project imports kafkajs at runtime, so that its fixes are in place before
// kafkajs loads (see aborted-filter.ts). Everything else imports kafkajs values from here;
// type-only imports of 'kafkajs' are fine anywhere.
import { installAbortedFilter } from './aborted-filter.ts';

installAbortedFilter();

const kafkajs = (await import('kafkajs')).default;

export const { Kafka, logLevel, AssignerProtocol, ConfigResourceTypes } = kafkajs;
