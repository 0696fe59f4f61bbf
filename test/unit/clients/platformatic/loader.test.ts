// The fix src/clients/platformatic/loader.ts applies to @platformatic/kafka as it loads: its own
// read_committed filter is switched off (it dropped committed transactions; sluice filters itself,
// test/integration/platformatic-aborted-filter.test.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { patched, patchConsumerSource, patchProducerSource, platformaticKafka } from '../../../../src/clients/platformatic/loader.ts';

const installed = fileURLToPath(new URL('../../../../node_modules/@platformatic/kafka/dist/clients/consumer/consumer.js', import.meta.url));

describe('the @platformatic/kafka fixes', () => {
  it('switches off the installed consumer read_committed filter', () => {
    const patched = patchConsumerSource(readFileSync(installed, 'utf8'));
    expect(patched).not.toContain('this.#filterUncommittedMessages(response);');
    expect(patched).toContain('#filterUncommittedMessages(response) {');
  });

  it('leaves an already fixed source alone and refuses one it does not recognize', () => {
    const fixed = patchConsumerSource('this.#filterUncommittedMessages(response);');
    expect(fixed).not.toContain('this.#filterUncommittedMessages(response);');
    expect(patchConsumerSource(fixed)).toBe(fixed);
    // a library that filters some other way must be looked at, not loaded as it is
    expect(() => patchConsumerSource('const filter = () => true;')).toThrow(/read_committed filter of fetch responses/);
  });

  it('stops the installed idempotent producer from resending a batch under a new producer id', () => {
    const producer = readFileSync(fileURLToPath(new URL('../../../../node_modules/@platformatic/kafka/dist/clients/producer/producer.js', import.meta.url)), 'utf8');
    const fixed = patchProducerSource(producer);
    expect(fixed).not.toContain('this.#isProducerStateLost(error)) {');
    expect(patchProducerSource(fixed)).toBe(fixed);
    expect(() => patchProducerSource('const send = () => true;')).toThrow(/resending a batch under a new producer id/);
  });

  it('loads the library through the hook', () => {
    expect(typeof platformaticKafka.Consumer).toBe('function');
    expect(patched).toEqual({ consumer: true, producer: true });
  });
});
