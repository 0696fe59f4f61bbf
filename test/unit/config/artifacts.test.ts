import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configArtifacts, configDocsMarkdown, helmValuesSchemaJson } from '../../../src/config/artifacts.ts';

const root = new URL('../../../', import.meta.url);

describe('generated config artifacts', () => {
  it.each(configArtifacts().map((a) => [a.path, a.content] as const))(
    '%s is up to date (regenerate with: node scripts/gen-config-artifacts.ts)',
    (path, content) => {
      expect(readFileSync(new URL(path, root), 'utf8')).toBe(content);
    },
  );

  it('nests the config schema under config, beside the chart\'s own values, and refuses unknown keys', () => {
    const schema = JSON.parse(helmValuesSchemaJson());
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    expect(schema.required).toContain('config');
    expect(schema.properties.secrets.properties.kafkaSasl.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['image', 'resources', 'startupProbe', 'readinessProbe', 'otel', 'secrets']));
    const config = schema.properties.config;
    expect(config.additionalProperties).toBe(false);
    expect(config.required).toEqual(['kafka', 'application', 'input', 'windows', 'output', 'deadLetter']);
    // Input side: what users write, so durations are strings and defaults are the written form.
    expect(config.properties.windows.items.properties.grace).toMatchObject({ type: 'string', default: '0s' });
    expect(config.properties.kafka.properties.connectTimeout).toMatchObject({ default: '30s' });
    expect(config.properties.windows.items.oneOf).toEqual([{ required: ['tumbling'] }, { required: ['hopping'] }, { required: ['session'] }]);
  });

  it('documents every field with a description', () => {
    const rows = configDocsMarkdown()
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) {
      const description = row.split(' | ').at(-1)?.replace(/ \|$/, '').trim();
      expect(description, row).not.toBe('');
    }
    expect(rows).toContainEqual(expect.stringMatching(/^\| `windows\[\]\.grace` \| duration \| no \| `0s` \|/));
    expect(rows).toContainEqual(expect.stringMatching(/^\| `dedupe\.ttl` \| duration \| yes \|/));
  });
});
